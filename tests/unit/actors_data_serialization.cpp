// The data channel messages survive CAF's binary serialization (the wire format of CAF
// remoting, which a data producer's messages cross through relays), field by field.
#include "actors/data_messages.hpp"
#include "actors/serialization.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/all.hpp>
#include <caf/binary_deserializer.hpp>
#include <caf/binary_serializer.hpp>
#include <caf/uniform_type_info_map.hpp>

#include <doctest/doctest.h>

using namespace chorus;

namespace {

template <class T>
T round_trip_in(caf::actor_system& sys, T x) {
  std::vector<char> buf;
  caf::binary_serializer sink{sys, buf};
  REQUIRE_FALSE(sink(x));
  T y;
  caf::binary_deserializer source{sys, buf};
  REQUIRE_FALSE(source(y));
  CHECK(source.remaining() == 0);
  return y;
}

protocol::sctp_stream_parameters partial(uint16_t stream) {
  protocol::sctp_stream_parameters p;
  p.stream_id = stream;
  p.ordered = false;
  p.has_max_retransmits = true;
  p.max_retransmits = 3;
  return p;
}

} // namespace

TEST_CASE("data channel messages round trip field by field") {
  caf::actor_system_config cfg;
  actors::register_message_types(cfg);
  caf::actor_system sys{cfg};
  auto someone = sys.spawn([] { return caf::behavior{[](int) {}}; });

  // A binary message with every byte value, and an empty one.
  actors::data_message m{53, {}, 123456789};
  for (int i = 0; i < 256; ++i)
    m.data.push_back(static_cast<uint8_t>(i));
  auto m2 = round_trip_in(sys, m);
  CHECK(m2.ppid == 53);
  CHECK(m2.data == m.data);
  CHECK(m2.received_us == 123456789);
  CHECK(round_trip_in(sys, actors::data_message{57, {}, 0}).data.empty());

  // data_out carries the producer's message itself (a caf::message).
  actors::data_out out{7, partial(7), caf::make_message(m)};
  auto out2 = round_trip_in(sys, out);
  CHECK(out2.stream == 7);
  CHECK(out2.options.has_max_retransmits);
  CHECK(out2.options.max_retransmits == 3);
  CHECK_FALSE(out2.options.ordered);
  REQUIRE(out2.payload.match_elements<actors::data_message>());
  CHECK(out2.payload.get_as<actors::data_message>(0).data == m.data);

  actors::data_producer_info info{"dp1", "alice", "chat", "json", "{\"x\":1}", partial(2), someone};
  auto info2 = round_trip_in(sys, info);
  CHECK(info2.data_producer_id == "dp1");
  CHECK(info2.peer_id == "alice");
  CHECK(info2.label == "chat");
  CHECK(info2.protocol == "json");
  CHECK(info2.app_data == "{\"x\":1}");
  CHECK(info2.stream.stream_id == 2);
  CHECK(info2.data_producer == someone);
  CHECK(round_trip_in(sys, actors::data_producer_route{someone, 9}).stream == 9);
  CHECK(round_trip_in(sys, actors::data_consumer_route{someone, 11}).data_consumer == someone);
  CHECK(round_trip_in(sys, actors::find_data_producer{"dp1", "bob"}).peer_id == "bob");
  CHECK(round_trip_in(sys, actors::data_producer_removed{"dp1"}).data_producer_id == "dp1");
  CHECK(round_trip_in(sys, actors::data_producers_query{"carol"}).peer_id == "carol");

  protocol::produce_data_request pd{"room", "t1", partial(4), "l", "p", "{}"};
  auto pd2 = round_trip_in(sys, pd);
  CHECK(pd2.transport_id == "t1");
  CHECK(pd2.stream.stream_id == 4);
  CHECK(pd2.label == "l");
  protocol::sctp_stream_parameters timed;
  timed.has_max_packet_life_time = true;
  timed.max_packet_life_time = 1500;
  auto cd = round_trip_in(sys, protocol::data_consumer_params_reply{"c1", "dp1", timed, "l", "p", "{}", "alice"});
  CHECK(cd.stream.has_max_packet_life_time);
  CHECK(cd.stream.max_packet_life_time == 1500);
  CHECK(cd.peer_id == "alice");
  auto req = round_trip_in(sys, protocol::data_consumer_request{"r", protocol::data_op::get_stats, "c1"});
  CHECK(req.op == protocol::data_op::get_stats);
  auto ct = round_trip_in(sys, protocol::create_transport_request{"r", protocol::transport_direction::recv, true, 16, 32});
  CHECK(ct.enable_sctp);
  CHECK(ct.sctp_os == 16);
  CHECK(ct.sctp_mis == 32);
  protocol::transport_params tp;
  tp.has_sctp = true;
  tp.sctp_parameters = {5000, 10, 20, 65536};
  auto tp2 = round_trip_in(sys, tp);
  CHECK(tp2.has_sctp);
  CHECK(tp2.sctp_parameters.mis == 20);
  CHECK(tp2.sctp_parameters.max_message_size == 65536);
  caf::anon_send_exit(someone, caf::exit_reason::user_shutdown);
}

TEST_CASE("every data channel message type registers") {
  caf::actor_system_config cfg;
  actors::register_message_types(cfg);
  caf::actor_system sys{cfg};
  for (auto name : {"chorus::data_message", "chorus::data_out", "chorus::data_producer_route",
                    "chorus::data_consumer_route", "chorus::data_producer_info",
                    "chorus::data_producer_removed", "chorus::find_data_producer",
                    "chorus::data_producers_query", "chorus::sctp_stream_parameters",
                    "chorus::produce_data_request", "chorus::consume_data_request",
                    "chorus::data_producer_request", "chorus::data_consumer_request",
                    "chorus::data_consumer_params_reply", "chorus::new_data_producer_event",
                    "chorus::data_producer_closed_event", "chorus::data_consumer_closed_event"})
    CHECK_MESSAGE(sys.types().make_value(name) != nullptr, name);
}
