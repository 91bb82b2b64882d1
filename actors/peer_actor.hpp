// The peer actor's state, and its handlers by concept, each in its own file:
//   peer.cpp        the behaviour (peer_impl: what each message does), its transports,
//                   closing what a transport carried, and re-homing
//   peer_media.cpp  produce and consume: the producers and consumers it spawns and their
//                   requests
//   peer_data.cpp   produceData and consumeData: data producers and consumers on SCTP
#pragma once

#include "actors/consumer.hpp"
#include "actors/data_consumer.hpp"
#include "actors/data_messages.hpp"
#include "actors/data_producer.hpp"
#include "actors/fault.hpp"
#include "actors/media_messages.hpp"
#include "actors/messages.hpp"
#include "actors/monitor.hpp"
#include "actors/operations.hpp"
#include "actors/peer.hpp"
#include "actors/plain_transport.hpp"
#include "actors/producer.hpp"
#include "actors/rehome_messages.hpp"
#include "actors/rights.hpp"
#include "actors/transport.hpp"
#include "common/ids.hpp"
#include "common/log.hpp"
#include "rtp/ortc.hpp"

#include <caf/all.hpp>

#include <algorithm>
#include <map>
#include <set>
#include <random>

namespace chorus::actors::peers {

using protocol::error_code;

inline constexpr auto media_request_timeout = std::chrono::seconds(5);

struct transport_entry {
  caf::actor actor;
  protocol::transport_direction direction = protocol::transport_direction::unspecified;
  bool connect_requested = false;
  uint32_t next_mid = 0; // consumers' mids on this transport: "0", "1", ...
  std::shared_ptr<send_shared> send;
  std::shared_ptr<data_send_shared> data_send; // set when it has SCTP
  uint16_t sctp_os = 0;                          // its outgoing streams (data consumers)
};

struct data_producer_entry {
  caf::actor actor;
  std::string transport_id;
  data_producer_info info; // what the room lists (carried to its new home by a rejoin)
};

struct data_consumer_entry {
  caf::actor actor;
  std::string transport_id;
  std::string data_producer_id;
  uint16_t stream = 0;
};

struct producer_entry {
  caf::actor actor;
  std::string transport_id;
  rtp::media_kind kind = rtp::media_kind::audio;
  bool is_screen_share = false;
  producer_info info; // as the room got it (paused kept current): a moved room gets it again
};

struct consumer_entry {
  caf::actor actor;
  std::string transport_id;
  std::string producer_id;
  uint32_t ssrc = 0;
  uint32_t rtx_ssrc = 0;
  // Created paused and not resumed since: what unpauseConsumer without a consumerId
  // resumes (seed 000's client names no consumer).
  bool awaiting_resume = false;
};

struct peer_state {
  // The CNAME for this peer's producers that come without one (rid-based simulcast offers
  // have no a=ssrc lines, so mediasoup-client sends none): the first one given, else a
  // fresh one. Without a CNAME, mediasoup-client signals no SSRC to the receivers, which
  // then can only bind the stream by its MID element, which senders stop sending.
  std::string producer_cname;
  caf::actor_addr room;
  caf::actor node; // this node's node actor (relays of remote producers)
  std::string id;
  std::string room_id;
  caf::actor session;
  node_context_ptr ctx;
  std::map<std::string, transport_entry> transports;
  std::map<std::string, producer_entry> producers;
  std::map<std::string, consumer_entry> consumers;
  std::map<std::string, data_producer_entry> data_producers;
  std::map<std::string, data_consumer_entry> data_consumers;
  // Re-homing (cluster): the room's entry for this participant as the room last sent it,
  // and whether the peer is between rooms (its room's home was lost or the room moves).
  participant_snapshot copy;
  bool rehoming = false;
  uint64_t rehome_round = 0;
  // Data consumers of the room's own data producer that lost it and have not found it
  // again (data_source_lost): asked for at the room, and again at the room the peer
  // rejoins if it moves meanwhile.
  std::set<std::string> data_sources_lost;
  std::minstd_rand rng{ids::random_u32()};
  static inline const char* name = "chorus.peer";
};

using peer_actor = caf::stateful_actor<peer_state>;

using produce_promise = caf::typed_response_promise<protocol::producer_id_reply>;

// ---- peer.cpp ------------------------------------------------------------------------------
caf::error too_many_consumers(const peer_state& st);
caf::error unknown_transport(const std::string& id);
// produce without a transportId means the peer's send transport.
caf::expected<std::string> implicit_send_transport(peer_state& st);
// consume without a transportId means the peer's receive transport.
caf::expected<std::string> implicit_recv_transport(peer_state& st);
void set_paused(peer_state& st, const std::string& producer_id, bool paused);
caf::actor room_of(peer_state& st);
// A producer ended (closed, or its transport did): forget it, tell the room.
void forget_producer(peer_actor* self, const std::string& id);

// ---- peer_media.cpp ------------------------------------------------------------------------
// Checks what can be checked here (transport, producer limit, parameters), then asks the
// room whether this peer may publish media of this kind (permissions, a moderator's
// mute, the room's publisher limit) and makes the producer.
caf::result<protocol::producer_id_reply> on_produce(peer_actor* self,
                                                    protocol::produce_request& r);
// unpauseConsumer without a consumerId (seed 000 names none): resumes every consumer of
// this peer that was created paused and has been neither resumed nor paused since. The
// reply waits for all of them; with none waiting it is an empty success.
caf::result<caf::message> resume_awaiting(peer_actor* self, const protocol::consumer_request& r);
caf::result<protocol::consumer_params_reply> on_consume(peer_actor* self,
                                                        protocol::consume_request& r);
caf::result<caf::message> on_producer_request(peer_actor* self, protocol::producer_request& r);

// ---- peer_data.cpp -------------------------------------------------------------------------
caf::result<protocol::producer_id_reply> on_produce_data(peer_actor* self,
                                                         protocol::produce_data_request& r);
caf::result<protocol::data_consumer_params_reply>
on_consume_data(peer_actor* self, protocol::consume_data_request& r);
// A data consumer of the room's own data producer lost it: found again at the room (now,
// or once the peer has rejoined the room if it is moving), else the consumer is closed.
void find_data_source(peer_actor* self, const std::string& data_consumer_id);
// Closes a data consumer for the client (data-consumer-closed) and ends it.
void close_data_consumer(peer_actor* self, const std::string& data_consumer_id);

} // namespace chorus::actors::peers
