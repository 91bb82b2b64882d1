// Every message type that crosses actors must survive CAF's binary serialization (the
// wire format of CAF remoting), field by field.
#include "actors/cluster_messages.hpp"
#include "actors/rehome_messages.hpp"
#include "actors/media_messages.hpp"
#include "actors/messages.hpp"
#include "actors/wire_check.hpp"
#include "protocol/reply_json.hpp"

#include <caf/all.hpp>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/binary_deserializer.hpp>
#include <caf/binary_serializer.hpp>
#include <caf/type_erased_value.hpp>
#include <caf/uniform_type_info_map.hpp>

#include <doctest/doctest.h>

#include <cmath>
#include <limits>

// The fixtures name only the fields a case needs (designated initializers); GCC 12 still
// counts the others as missing.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

using namespace chorus;

namespace {

// No execution context is needed for these types (they hold no actor handles).
template <class T>
T round_trip(T x) {
  std::vector<char> buf;
  caf::binary_serializer sink{nullptr, buf};
  auto err = sink(x);
  REQUIRE_FALSE(err);
  T y;
  caf::binary_deserializer source{nullptr, buf};
  err = source(y);
  REQUIRE_FALSE(err);
  CHECK(source.remaining() == 0);
  return y;
}

// For messages that hold actor handles: serialized within an actor system (CAF writes a
// handle as its node and id, and needs the system for that).
template <class T>
T round_trip_in(caf::actor_system& sys, T x) {
  std::vector<char> buf;
  caf::binary_serializer sink{sys, buf};
  auto err = sink(x);
  REQUIRE_FALSE(err);
  T y;
  caf::binary_deserializer source{sys, buf};
  err = source(y);
  REQUIRE_FALSE(err);
  CHECK(source.remaining() == 0);
  return y;
}

rtp::rtp_parameters chromium_like_parameters() {
  rtp::rtp_parameters p;
  p.mid = "0";
  rtp::codec_parameters vp8;
  vp8.mime_type = "video/VP8";
  vp8.payload_type = 96;
  vp8.clock_rate = 90000;
  vp8.rtcp_feedback = {{"goog-remb", ""}, {"transport-cc", ""}, {"ccm", "fir"}, {"nack", ""},
                       {"nack", "pli"}};
  rtp::codec_parameters rtx;
  rtx.mime_type = "video/rtx";
  rtx.payload_type = 97;
  rtx.clock_rate = 90000;
  rtx.parameters = {{"apt", "96", true}};
  p.codecs = {vp8, rtx};
  p.header_extensions = {{"urn:ietf:params:rtp-hdrext:sdes:mid", 9, false, {}},
                         {"http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time", 2,
                          false, {}}};
  rtp::encoding_parameters enc;
  enc.ssrc = 0xdeadbeef;
  enc.rtx_ssrc = 0x01020304;
  enc.scalability_mode = "L1T3";
  enc.max_bitrate = 1500000;
  enc.scale_resolution_down_by = 2.0;
  p.encodings = {enc};
  p.rtcp = {"abcdEFGH", true};
  return p;
}

} // namespace

TEST_CASE("rtp_parameters round trip") {
  auto p = chromium_like_parameters();
  CHECK(round_trip(p) == p);
}

TEST_CASE("rtp_capabilities round trip") {
  rtp::rtp_capabilities caps;
  rtp::codec_capability opus;
  opus.kind = rtp::media_kind::audio;
  opus.mime_type = "audio/opus";
  opus.preferred_payload_type = 100;
  opus.clock_rate = 48000;
  opus.channels = 2;
  opus.parameters = {{"useinbandfec", "1", true}, {"profile-level-id", "42e01f", false}};
  opus.rtcp_feedback = {{"nack", ""}, {"transport-cc", ""}};
  caps.codecs = {opus};
  caps.header_extensions = {{rtp::media_kind::video, "urn:3gpp:video-orientation", 11, false,
                             rtp::hdrext_direction::recvonly}};
  CHECK(round_trip(caps) == caps);
}

TEST_CASE("requests round trip") {
  protocol::produce_request pr;
  pr.room_id = "room";
  pr.transport_id = "t1";
  pr.kind = rtp::media_kind::video;
  pr.rtp_parameters = chromium_like_parameters();
  pr.app_data = R"({"source":"camera"})";
  pr.paused = true;
  auto pr2 = round_trip(pr);
  CHECK(pr2.room_id == pr.room_id);
  CHECK(pr2.transport_id == pr.transport_id);
  CHECK(pr2.kind == pr.kind);
  CHECK(pr2.rtp_parameters == pr.rtp_parameters);
  CHECK(pr2.app_data == pr.app_data);
  CHECK(pr2.paused);

  protocol::connect_transport_request ct;
  ct.transport_id = "t2";
  ct.dtls_parameters.role = net::dtls_role::client;
  ct.dtls_parameters.fingerprints = {{"sha-256", "AB:CD"}};
  auto ct2 = round_trip(ct);
  CHECK(ct2.dtls_parameters == ct.dtls_parameters);

  protocol::consumer_request cr{"room", protocol::consumer_op::get_stats, "c1"};
  auto cr2 = round_trip(cr);
  CHECK(cr2.op == protocol::consumer_op::get_stats);
  CHECK(cr2.consumer_id == "c1");

  protocol::inject_fault_request fr{"room", protocol::fault_target::transport, "t7", true};
  auto fr2 = round_trip(fr);
  CHECK(fr2.target == protocol::fault_target::transport);
  CHECK(fr2.id == "t7");
  CHECK(fr2.exit);
  CHECK(round_trip(actors::fault_command{true}).exit);
  CHECK_FALSE(round_trip(actors::fault_command{false}).exit);
}

TEST_CASE("events and internal messages round trip") {
  protocol::participant_list_update_event ev;
  ev.participants = {{.id = "alice", .name = "Alice", .is_audio_muted = false, .is_video_paused = true},
                     {.id = "bob", .name = "Bob", .is_audio_muted = true, .is_video_paused = false}};
  CHECK(round_trip(ev).participants == ev.participants);

  actors::peer_update upd{.peer_id = "alice", .name = "Alice B.", .has_rtp_capabilities = true};
  auto upd2 = round_trip(upd);
  CHECK(upd2.name == "Alice B.");
  CHECK(upd2.has_rtp_capabilities);

  protocol::active_speaker_event as{"sock-a", "user_a", "p1"};
  auto as2 = round_trip(as);
  CHECK(as2.peer_id == "sock-a");
  CHECK(as2.user_id == "user_a");
  CHECK(as2.producer_id == "p1");
  protocol::audio_levels_event lv{{{"alice", "p1", -12}, {"bob", "p2", -127}}};
  CHECK(round_trip(lv).levels == lv.levels);

  actors::audio_level_batch b{"p1", {0x80 | 20, 127}, {1000, 1020}};
  auto b2 = round_trip(b);
  CHECK(b2.producer_id == "p1");
  CHECK(b2.levels == b.levels);
  CHECK(b2.times_ms == b.times_ms);
  actors::audio_levels_report r{{"p1", "p2"}, {-12, -40}};
  auto r2 = round_trip(r);
  CHECK(r2.producer_ids == r.producer_ids);
  CHECK(r2.volumes_dbov == r.volumes_dbov);
  CHECK(round_trip(actors::observe_producer{"p3"}).producer_id == "p3");
  CHECK(round_trip(actors::dominant_speaker{"p4"}).producer_id == "p4");

  actors::ws_text t{std::string(70000, 'x')};
  CHECK(round_trip(t).text == t.text);

  protocol::producer_layers_unused_event un{"p1", {1, 2}};
  auto un2 = round_trip(un);
  CHECK(un2.producer_id == "p1");
  CHECK(un2.spatial_layers == un.spatial_layers);
  actors::layer_bitrates lb{.bps = {100, 200, 300}, .spatial_layers = 3, .temporal_layers = 3,
                          .scores = {10, 9, 0}, .keyframe_bytes = {9000, 15000, 23000}};
  auto lb2 = round_trip(lb);
  CHECK(lb2.bps == lb.bps);
  CHECK(lb2.scores == lb.scores);
  CHECK(lb2.keyframe_bytes == lb.keyframe_bytes);
}

TEST_CASE("the seed 004 frontend's messages round trip field by field") {
  protocol::participant p{.id = "sock-a", .name = "Alice", .is_audio_muted = false,
                          .is_video_paused = true, .user_id = "user_a",
                          .image_url = "https://img/a.png", .is_host = true, .is_co_host = true,
                          .audio_locked = true, .screen_share_locked = false};
  CHECK(round_trip(p) == p);

  protocol::join_room_request j;
  j.room_id = "r";
  j.user_id = "user_a";
  j.image_url = "https://img/a.png";
  j.is_creator = true;
  auto j2 = round_trip(j);
  CHECK(j2.user_id == "user_a");
  CHECK(j2.image_url == "https://img/a.png");
  CHECK(j2.is_creator);

  actors::peer_update upd{"sock-a", "", false, {}, {"user_a", "https://img/a.png", true}};
  auto upd2 = round_trip(upd);
  CHECK(upd2.identity.user_id == "user_a");
  CHECK(upd2.identity.image_url == "https://img/a.png");
  CHECK(upd2.identity.is_creator);

  actors::own_state_update own{"sock-a", {"r", true, true, false, false}};
  auto own2 = round_trip(own);
  CHECK(own2.peer_id == "sock-a");
  CHECK(own2.state.has_audio_muted);
  CHECK(own2.state.audio_muted);
  CHECK_FALSE(own2.state.has_video_paused);

  CHECK(round_trip(protocol::set_user_id_request{"user_b"}).user_id == "user_b");
  auto g = round_trip(protocol::get_socket_id_request{"r", "user_b"});
  CHECK(g.room_id == "r");
  CHECK(g.user_id == "user_b");
  CHECK(round_trip(protocol::socket_id_reply{"sock-b"}).socket_id == "sock-b");

  protocol::join_room_reply jr{"r", "sock-a", {"p1", "p2"}, true, true};
  auto jr2 = round_trip(jr);
  CHECK(jr2.existing_producers == jr.existing_producers);
  CHECK(jr2.is_host);
  CHECK(jr2.is_co_host);

  protocol::new_producer_event np{.producer_id = "p1", .peer_id = "sock-a", .kind = rtp::media_kind::video,
                                  .user_id = "user_a", .user_name = "Alice", .is_screen_share = true};
  auto np2 = round_trip(np);
  CHECK(np2.user_id == "user_a");
  CHECK(np2.user_name == "Alice");
  CHECK(np2.is_screen_share);
  CHECK(np2.kind == rtp::media_kind::video);

  protocol::producer_closed_event pc{"p1", "sock-a", "user_a", rtp::media_kind::video, true};
  auto pc2 = round_trip(pc);
  CHECK(pc2.peer_id == "sock-a");
  CHECK(pc2.user_id == "user_a");
  CHECK(pc2.is_screen_share);

  protocol::participant_left_event left{"sock-a", "user_a"};
  CHECK(round_trip(left).user_id == "user_a");

  protocol::participant_state_changed_event ch{"sock-a", "user_a", false, false, true, true};
  auto ch2 = round_trip(ch);
  CHECK(ch2.has_video_paused);
  CHECK(ch2.video_paused);
  CHECK_FALSE(ch2.has_audio_muted);

  protocol::consumer_params_reply c;
  c.user_id = "user_a";
  c.user_name = "Alice";
  c.is_screen_share = true;
  c.app_data = R"({"share":true})";
  auto c2 = round_trip(c);
  CHECK(c2.user_id == "user_a");
  CHECK(c2.user_name == "Alice");
  CHECK(c2.is_screen_share);
  CHECK(c2.app_data == c.app_data);

  protocol::produce_request pr;
  pr.is_screen_share = true;
  pr.replace_audio = true;
  auto pr2 = round_trip(pr);
  CHECK(pr2.is_screen_share);
  CHECK(pr2.replace_audio);
}

TEST_CASE("cluster messages round trip field by field") {
  caf::actor_system_config cfg;
  actors::register_message_types(cfg);
  caf::actor_system sys{cfg};
  auto node = sys.spawn([] { return caf::behavior{[](int) {}}; });
  actors::cluster_member m{"node-a", "127.0.0.1:7000", "http://127.0.0.1:8080", node};
  auto hello = round_trip(actors::cluster_hello{"node-a", std::string(64, 'f')});
  CHECK(hello.node_id == "node-a");
  CHECK(hello.nonce == std::string(64, 'f'));
  auto welcome = round_trip(actors::cluster_welcome{"node-b", "n", "p"});
  CHECK(welcome.node_id == "node-b");
  CHECK(welcome.nonce == "n");
  CHECK(welcome.proof == "p");
  auto proof = round_trip_in(sys, actors::cluster_proof{"node-a", "nb", "p2", m});
  CHECK(proof.nonce == "nb");
  CHECK(proof.proof == "p2");
  CHECK(proof.member.cluster_address == "127.0.0.1:7000");
  CHECK(proof.member.client_url == "http://127.0.0.1:8080");
  auto accepted = round_trip_in(sys, actors::cluster_accepted{m, {m, {"node-c", "", "http://c", {}}}});
  REQUIRE(accepted.members.size() == 2);
  CHECK(accepted.members[1].node_id == "node-c");
  CHECK(accepted.member.node_id == "node-a");
  CHECK(accepted.member.node == node); // the node actor's handle survives
  CHECK_FALSE(accepted.members[1].node);
  auto view = round_trip_in(sys, actors::cluster_nodes{"node-a", {{"node-a", node}, {"node-b", {}}}});
  CHECK(view.self_id == "node-a");
  REQUIRE(view.nodes.size() == 2);
  CHECK(view.nodes[0].node == node);
  CHECK(round_trip(actors::get_room{.room_id = "maths"}).room_id == "maths");
  actors::join_command jc;
  jc.room_id = "maths";
  jc.peer = node;
  jc.placed = true;
  auto jc2 = round_trip_in(sys, jc);
  CHECK(jc2.peer == node);
  CHECK(jc2.placed);
  // A room's message for the sessions on another node: the handles and the message whole
  // (an event of the live class, its pre-written JSON left behind).
  protocol::class_event chat;
  chat.kind = protocol::class_event_kind::chat_message;
  chat.chat.push_back({});
  chat.chat.back().text = "hello";
  protocol::prepare_json(chat);
  auto fan = round_trip_in(sys, actors::session_fanout{node, {node, node}, caf::make_message(chat)});
  CHECK(fan.room == node);
  CHECK(fan.sessions.size() == 2);
  REQUIRE(fan.msg.match_elements<protocol::class_event>());
  const auto& back = fan.msg.get_as<protocol::class_event>(0);
  REQUIRE(back.chat.size() == 1);
  CHECK(back.chat[0].text == "hello");
  CHECK_FALSE(back.written);
  auto list = round_trip_in(sys, actors::session_fanout{node, {node}, caf::make_message(
                                                        protocol::audience_update_event{7, 2, 1})});
  REQUIRE(list.msg.match_elements<protocol::audience_update_event>());
  CHECK(list.msg.get_as<protocol::audience_update_event>(0).count == 7);
  // An audience's live-class requests crossing to the room's home together, and the
  // answers: a reply, or an error in the chorus category with its code and text.
  actors::class_batch batch;
  batch.commands.push_back({"p1", {}});
  batch.commands.back().request.action = protocol::class_action::vote;
  batch.commands.back().request.id = "poll-1";
  batch.commands.push_back({"p2", {}});
  auto batch2 = round_trip(batch);
  REQUIRE(batch2.commands.size() == 2);
  CHECK(batch2.commands[0].peer_id == "p1");
  CHECK(batch2.commands[0].request.action == protocol::class_action::vote);
  CHECK(batch2.commands[0].request.id == "poll-1");
  actors::class_batch_reply answers;
  answers.replies = {{"id", "c7"}, {}};
  answers.errors = {caf::error{}, actors::make_error(protocol::error_code::rate_limited, "slow down")};
  auto answers2 = round_trip_in(sys, answers); // the error's text is a message: the system's types
  REQUIRE(answers2.errors.size() == 2);
  CHECK_FALSE(answers2.errors[0]);
  CHECK(answers2.replies[0].id == "c7");
  auto info = actors::to_error_info(answers2.errors[1]);
  CHECK(info.code == protocol::error_code::rate_limited);
  CHECK(info.message == "slow down");
  auto up = round_trip_in(sys, actors::class_upstream{node, {"p3", {}}});
  CHECK(up.room == node);
  CHECK(up.command.peer_id == "p3");
  // Joins crossing to the room's home together, and their outcomes in order.
  actors::join_batch joins;
  joins.commands.resize(2);
  joins.commands[0].room_id = "lecture";
  joins.commands[0].peer_id = "s1";
  joins.commands[0].peer = node;
  joins.commands[0].placed = true;
  joins.commands[1].peer_id = "s2";
  auto joins2 = round_trip_in(sys, joins);
  REQUIRE(joins2.commands.size() == 2);
  CHECK(joins2.commands[0].room_id == "lecture");
  CHECK(joins2.commands[0].peer == node);
  CHECK(joins2.commands[0].placed);
  CHECK(joins2.commands[1].peer_id == "s2");
  actors::join_batch_reply joined;
  joined.results.resize(2);
  joined.results[0].peer = node;
  joined.results[0].existing_producers = {"prod-1"};
  joined.errors = {caf::error{}, actors::make_error(protocol::error_code::room_full, "room is full")};
  auto joined2 = round_trip_in(sys, joined);
  REQUIRE(joined2.results.size() == 2);
  REQUIRE(joined2.errors.size() == 2);
  CHECK(joined2.results[0].peer == node);
  CHECK(joined2.results[0].existing_producers == std::vector<std::string>{"prod-1"});
  CHECK_FALSE(joined2.errors[0]);
  CHECK(actors::to_error_info(joined2.errors[1]).code == protocol::error_code::room_full);
  caf::anon_send_exit(node, caf::exit_reason::user_shutdown);
  auto hb = round_trip(actors::cluster_heartbeat{"node-a", {3, 40, 400, 123456}});
  CHECK(hb.load.rooms == 3);
  CHECK(hb.load.peers == 40);
  CHECK(hb.load.consumers == 400);
  CHECK(hb.load.cpu_ms == 123456);
  auto rc = round_trip(actors::cluster_reconnect{"127.0.0.1:7001", 4});
  CHECK(rc.address == "127.0.0.1:7001");
  CHECK(rc.attempt == 4);
}

TEST_CASE("re-homing messages cross a serializer whole") {
  caf::actor_system_config cfg;
  actors::register_message_types(cfg);
  caf::actor_system sys{cfg};
  auto actor = sys.spawn([] { return caf::behavior{[](int) {}}; });
  actors::participant_snapshot p;
  p.peer_id = "p1";
  p.name = "Ada";
  p.has_rtp_capabilities = true;
  p.rtp_capabilities.codecs.resize(1);
  p.rtp_capabilities.codecs[0].mime_type = "audio/opus";
  p.user_id = "u1";
  p.image_url = "https://x/a.png";
  p.grant = {"sub-1", "student", 0x21};
  p.muted = 3;
  p.publisher = true;
  p.chat_disabled = true;
  p.co_host = true;
  p.own_audio_muted = 1;
  p.own_video_paused = 0;
  actors::room_snapshot r;
  r.room_id = "maths";
  r.version = 42;
  r.creator = "teacher";
  r.hosts = {"h1"};
  r.locked = true;
  r.screens_locked = true;
  r.chat_disabled = true;
  r.blocks = {{"s", "p9", "u9", "noise", "teacher", 1234}};
  r.roster = {{"p1", "u1"}, {"p2", "p2"}};
  actors::rejoin_command cmd;
  cmd.room_id = "maths";
  cmd.participant = p;
  cmd.session = actor;
  cmd.peer = actor;
  cmd.edge_node = actor;
  actors::producer_info info;
  info.producer_id = "pr1";
  info.peer_id = "p1";
  info.kind = rtp::media_kind::video;
  info.paused = true;
  info.producer = actor;
  info.source = "screen";
  cmd.producers = {info};
  cmd.room = r;
  auto req = round_trip_in(sys, actors::rehome_request{"node-b#1", cmd});
  CHECK(req.avoid == "node-b#1");
  auto& c = req.cmd;
  CHECK(c.room_id == "maths");
  CHECK(c.session == actor);
  CHECK(c.peer == actor);
  CHECK(c.edge_node == actor);
  CHECK(c.participant.peer_id == "p1");
  CHECK(c.participant.name == "Ada");
  REQUIRE(c.participant.rtp_capabilities.codecs.size() == 1);
  CHECK(c.participant.rtp_capabilities.codecs[0].mime_type == "audio/opus");
  CHECK(c.participant.user_id == "u1");
  CHECK(c.participant.image_url == "https://x/a.png");
  CHECK(c.participant.grant.subject == "sub-1");
  CHECK(c.participant.grant.role == "student");
  CHECK(c.participant.grant.permissions == 0x21);
  CHECK(c.participant.muted == 3);
  CHECK(c.participant.publisher);
  CHECK(c.participant.chat_disabled);
  CHECK(c.participant.co_host);
  CHECK(c.participant.own_audio_muted == 1);
  CHECK(c.participant.own_video_paused == 0);
  REQUIRE(c.producers.size() == 1);
  CHECK(c.producers[0].producer_id == "pr1");
  CHECK(c.producers[0].kind == rtp::media_kind::video);
  CHECK(c.producers[0].paused);
  CHECK(c.producers[0].producer == actor);
  CHECK(c.producers[0].source == "screen");
  CHECK(c.room.version == 42);
  CHECK(c.room.creator == "teacher");
  CHECK(c.room.hosts == std::vector<std::string>{"h1"});
  CHECK(c.room.locked);
  CHECK(c.room.screens_locked);
  CHECK(c.room.chat_disabled);
  REQUIRE(c.room.blocks.size() == 1);
  CHECK(c.room.blocks[0].reason == "noise");
  CHECK(c.room.blocks[0].until_ms == 1234);
  REQUIRE(c.room.roster.size() == 2);
  CHECK(c.room.roster[1].public_id == "p2");
  r.cls.present = true;
  r.cls.hands = {{"p2", "u2", "Bo", 77}};
  r.cls.chat.resize(1);
  r.cls.chat[0].id = "m4";
  r.cls.chat[0].text = "hello";
  r.cls.next_chat_id = 5;
  actors::poll_record pr;
  pr.item.id = "p1";
  pr.item.options = {"yes", "no"};
  pr.voters = {"u1", "u2"};
  pr.choices = {{0}, {1}};
  r.cls.polls = {pr};
  r.cls.next_poll_id = 2;
  auto moving = round_trip_in(sys, actors::room_moving{"", p, r});
  REQUIRE(moving.room.cls.present);
  CHECK(moving.room.cls.hands[0].raised_at == 77);
  CHECK(moving.room.cls.chat[0].text == "hello");
  CHECK(moving.room.cls.next_chat_id == 5);
  REQUIRE(moving.room.cls.polls.size() == 1);
  CHECK(moving.room.cls.polls[0].voters == std::vector<std::string>{"u1", "u2"});
  CHECK(moving.room.cls.polls[0].choices[1] == std::vector<uint32_t>{1});
  CHECK(moving.room.cls.next_poll_id == 2);
  CHECK(moving.avoid.empty());
  CHECK(moving.participant.peer_id == "p1");
  CHECK(moving.room.roster.size() == 2);
  auto forget = r;
  forget.forget = true;
  CHECK(round_trip_in(sys, forget).forget);
  // The copy the replica keeps crosses with the live class.
  auto kept = round_trip_in(sys, actors::replica_copy{r, true});
  CHECK(kept.keep);
  CHECK(kept.copy.version == 42);
  REQUIRE(kept.copy.cls.polls.size() == 1);
  CHECK(kept.copy.cls.chat[0].text == "hello");
  auto shared = round_trip(actors::meetings_shared{{{"math-101", "user_t", "Algebra", 1790000000000, 11}}, true});
  REQUIRE(shared.meetings.size() == 1);
  CHECK(shared.meetings[0].creator_id == "user_t");
  CHECK(shared.meetings[0].starts_at == 1790000000000);
  CHECK(shared.relayed);
  auto stored = round_trip(actors::replica_stored{42, true});
  CHECK((stored.version == 42 && stored.stored));
  CHECK(round_trip_in(sys, actors::room_rebound{actor}).room == actor);
  CHECK(round_trip(actors::cluster_leaving{"node-c"}).node_id == "node-c");
  auto gr = round_trip(actors::get_room{"maths", true, "node-b#1"});
  CHECK(gr.forwarded);
  CHECK(gr.avoid == "node-b#1");
  actors::join_command jc;
  jc.edge_node = actor;
  CHECK(round_trip_in(sys, jc).edge_node == actor);
  // A consumer (or relay) naming itself to its producer across nodes.
  auto demand = round_trip_in(sys, actors::layer_demand{actor, 0x05});
  CHECK(demand.from == actor);
  CHECK(demand.spatial_mask == 0x05);
  caf::anon_send_exit(actor, caf::exit_reason::user_shutdown);
}

TEST_CASE("every message type registers") {
  caf::actor_system_config cfg;
  actors::register_message_types(cfg);
  caf::actor_system sys{cfg};
  for (auto name : {"chorus::join_command", "chorus::produce_request",
                    "chorus::participant_list_update_event", "chorus::consumer_params_reply",
                    "chorus::identity", "chorus::own_state_update",
                    "chorus::set_user_id_request", "chorus::get_socket_id_request",
                    "chorus::update_state_request", "chorus::socket_id_reply",
                    "chorus::participant_state_changed_event", "chorus::cluster_member",
                    "chorus::cluster_members", "chorus::node_load", "chorus::cluster_hello",
                    "chorus::cluster_welcome", "chorus::cluster_proof", "chorus::cluster_accepted",
                    "chorus::cluster_heartbeat", "chorus::cluster_reconnect", "chorus::get_room",
                    "chorus::cluster_node", "chorus::cluster_nodes", "chorus::get_relay",
                    "chorus::active_speaker_event", "chorus::audio_level_item",
                    "chorus::audio_levels_event", "chorus::attach_speaker_observer",
                    "chorus::observe_producer", "chorus::audio_level_batch",
                    "chorus::dominant_speaker", "chorus::audio_levels_report",
                    "chorus::participant_snapshot", "chorus::roster_entry", "chorus::room_block",
                    "chorus::room_snapshot", "chorus::rejoin_command", "chorus::rehome_request",
                    "chorus::room_moving", "chorus::room_rebound", "chorus::cluster_leaving",
                    "chorus::replica_copy", "chorus::replica_stored",
                    "chorus::meeting", "chorus::meetings_shared",
                    "chorus::producer_info_list", "chorus::poll_record", "chorus::class_state",
                    "chorus::layer_demand", "chorus::producer_layers_unused_event",
                    "chorus::layer_bitrates", "chorus::alloc_info"})
    CHECK_MESSAGE(sys.types().make_value(name) != nullptr, name);
}

// fuzz_cluster_messages found it (tests/fuzz/corpus/fuzz_cluster_messages/nonfinite_double):
// a peer's payload holding a bare double whose bits are an infinity. CAF reads it; writing
// it again never ends (caf::detail::pack754 halves an infinity forever).
TEST_CASE("what CAF cannot write again is found before it is passed on (actors::writable)") {
  caf::actor_system_config cfg;
  actors::register_message_types(cfg);
  caf::actor_system sys{cfg};
  SUBCASE("the fuzzer's payload: deserialized, not writable") {
    // No forwarding stages, then a message of one double, 0xffffffff00733d00.
    const std::vector<char> payload{0x00, 0x00, 0x00, 0x0a, '@', '<', '>', '+', 'd', 'o', 'u',
                                    'b', 'l', 'e', '\xff', '\xff', '\xff', '\xff', 0x00, 0x73,
                                    0x3d, 0x00, 0x00, 0x00, 0x00};
    caf::binary_deserializer src{sys, payload};
    std::vector<caf::strong_actor_ptr> stages;
    caf::message msg;
    REQUIRE_FALSE(src(stages, msg));
    REQUIRE(msg.match_elements<double>());
    CHECK_FALSE(std::isfinite(msg.get_as<double>(0)));
    CHECK_FALSE(actors::writable(sys, msg));
  }
  SUBCASE("CAF 0.17.6 throws for a config_value of an unknown type index") {
    // tests/fuzz/corpus/fuzz_cluster_messages/config_value_bad_index without its flag
    // byte: in BASP's worker this ends the process, hence no plain cluster links off
    // loopback (app/config.cpp). A CAF that stops throwing fails this case: revisit then.
    const std::string payload = std::string{"\0\0\0\x11@<>+@config_value", 21} + "tream_msg\na" +
                                std::string(1, '\0');
    caf::binary_deserializer src{sys, payload.data(), payload.size()};
    std::vector<caf::strong_actor_ptr> stages;
    caf::message msg;
    CHECK_THROWS_WITH_AS(src(stages, msg), "invalid type found", std::runtime_error);
  }
  struct row {
    const char* name;
    caf::message msg;
    bool writable;
  };
  const double inf = std::numeric_limits<double>::infinity();
  const row rows[] = {
    {"a finite double", caf::make_message(1.5), true},
    {"negative zero", caf::make_message(-0.0), true},
    {"+infinity", caf::make_message(inf), false},
    {"-infinity", caf::make_message(-inf), false},
    {"NaN", caf::make_message(std::numeric_limits<double>::quiet_NaN()), false},
    {"an infinite float", caf::make_message(std::numeric_limits<float>::infinity()), false},
    {"nested in a message", caf::make_message(std::string{"x"}, caf::make_message(2, inf)), false},
    {"in an error's context", caf::make_message(caf::make_error(caf::sec::runtime_error, inf)),
     false},
    {"a Chorus message", caf::make_message(actors::get_room{.room_id = "maths"}), true},
    {"a Chorus error", caf::make_message(actors::make_error(protocol::error_code::room_full, "full")),
     true},
  };
  for (const auto& r : rows) {
    CAPTURE(r.name);
    CHECK(actors::writable(sys, r.msg) == r.writable);
    if (r.writable) { // and writable it is, here in bounded time
      std::vector<char> buf;
      caf::binary_serializer sink{sys, buf};
      CHECK_FALSE(sink(const_cast<caf::message&>(r.msg)));
    }
  }
  SUBCASE("a relayed error keeps what is writable of it") {
    auto chorus = actors::writable(sys, actors::make_error(protocol::error_code::room_full, "full"));
    CHECK(actors::to_error_info(chorus).message == "full");
    auto bad = actors::writable(sys, caf::make_error(caf::sec::runtime_error, inf));
    CHECK(bad == caf::sec::runtime_error);
    CHECK(bad.context().empty());
    CHECK(actors::writable(sys, bad.context()));
    CHECK_FALSE(actors::writable(sys, caf::error{}));
  }
}

TEST_CASE("chorus errors carry code and message") {
  auto err = actors::make_error(protocol::error_code::unknown_transport, "no transport 'x'");
  auto info = actors::to_error_info(err);
  CHECK(info.code == protocol::error_code::unknown_transport);
  CHECK(info.message == "no transport 'x'");
  auto foreign = actors::to_error_info(caf::make_error(caf::sec::request_timeout));
  CHECK(foreign.code == protocol::error_code::internal);
  CHECK(foreign.message == "the request timed out");
}

TEST_CASE("plain transport and recording messages round trip") {
  protocol::plain_transport_request p;
  p.room_id = "r";
  p.op = protocol::plain_op::connect;
  p.listen_ip = "127.0.0.1";
  p.rtcp_mux = false;
  p.comedia = true;
  p.enable_srtp = true;
  p.srtp_crypto_suite = "AEAD_AES_256_GCM";
  p.transport_id = "t";
  p.ip = "10.0.0.1";
  p.port = 5004;
  p.rtcp_port = 5005;
  p.has_srtp_parameters = true;
  p.srtp_suite = "AES_CM_128_HMAC_SHA1_80";
  p.srtp_key_base64 = "QUJD";
  auto p2 = round_trip(p);
  CHECK(p2.op == protocol::plain_op::connect);
  CHECK(p2.listen_ip == p.listen_ip);
  CHECK_FALSE(p2.rtcp_mux);
  CHECK(p2.comedia);
  CHECK(p2.enable_srtp);
  CHECK(p2.srtp_crypto_suite == p.srtp_crypto_suite);
  CHECK(p2.port == 5004);
  CHECK(p2.rtcp_port == 5005);
  CHECK(p2.has_srtp_parameters);
  CHECK(p2.srtp_key_base64 == "QUJD");

  protocol::plain_transport_reply rep{"id", "127.0.0.1", 40000, 40001, true, "AEAD_AES_128_GCM", "a2V5"};
  auto rep2 = round_trip(rep);
  CHECK(rep2.rtcp_port == 40001);
  CHECK(rep2.srtp_key_base64 == "a2V5");

  actors::recording_command rc{"peer", {"room", false}};
  auto rc2 = round_trip(rc);
  CHECK(rc2.peer_id == "peer");
  CHECK_FALSE(rc2.request.start);

  protocol::recording_event ev;
  ev.kind = protocol::recording_event_kind::stopped;
  ev.recording_id = "rec";
  ev.manifest_path = "/x/manifest.json";
  ev.manifest_json = R"({"a":1})";
  ev.reason = "disk-full";
  auto ev2 = round_trip(ev);
  CHECK(ev2.kind == protocol::recording_event_kind::stopped);
  CHECK(ev2.manifest_json == ev.manifest_json);
  CHECK(ev2.reason == "disk-full");
}
