// The data producer actor: one data channel a client (or the room itself) sends on. Its
// transport hands it each received message (data_message); it fans the message out to
// its data consumers as ONE shared message, and counts messages and bytes.
//
// Messages:
//   data_message                    <- its transport (or the room, for the room's own)
//   attach_consumer -> attach_reply <- a peer for its new data consumer (before it answers
//                                      consumeData), or a relay (monitored)
//   protocol::data_producer_request <- peer: get_stats -> stats_reply
//   data_replay -> data_replay_reply <- a consumer of the room's own resuming after a move
// Linked to its peer (or the room); closing it is an exit. Consumers monitor it.
#pragma once

#include "actors/context.hpp"
#include "protocol/messages.hpp"

#include <caf/fwd.hpp>

#include <string>

namespace chorus::actors {

struct data_producer_spawn_args {
  std::string id;
  std::string peer_id; // "" for the room's own
  std::string label;
  std::string protocol;
  protocol::sctp_stream_parameters stream;
};

caf::actor spawn_data_producer(caf::event_based_actor* owner, data_producer_spawn_args args,
                               node_context_ptr ctx);

} // namespace chorus::actors
