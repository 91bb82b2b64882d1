// The data consumer actor: one data producer's messages sent to one peer on one SCTP
// stream of its transport.
//
// It gets the producer's shared messages (data_message, one caf::message for all) and
// hands them to its transport (data_out, the same message inside: no copy). What it has
// handed over and the transport has not yet put into SCTP counts against the transport's
// bound (data_send_shared); above it the message is dropped and counted, so a slow
// receiver costs bounded memory. usrsctp's own send buffer is bounded too (the transport
// drops when it is full).
//
// Messages:
//   data_message                    <- data producer or relay (monitored)
//   protocol::data_consumer_request <- peer: get_stats -> stats_reply
//   data_source                     <- peer: the room's own data producer found again
// When its producer ends it tells its peer data_consumer_closed_event and quits; a consumer
// of the room's own (follows_room) tells its peer data_source_lost instead and waits for
// data_source (the peer ends it when the room has that producer no more). It is linked to
// its peer; its transport monitors it (and resets the stream when it ends).
#pragma once

#include "actors/context.hpp"
#include "protocol/messages.hpp"

#include <caf/fwd.hpp>

#include <memory>
#include <string>

namespace chorus::actors {

struct data_send_shared;

struct data_consumer_spawn_args {
  std::string id;
  std::string data_producer_id;
  protocol::sctp_stream_parameters stream; // its stream id on the transport, and options
  // Of the room's own data producer: when that ends, the consumer asks its peer for it
  // again (the room moved or was rebuilt elsewhere) instead of closing.
  bool follows_room = false;
};

caf::actor spawn_data_consumer(caf::event_based_actor* peer, data_consumer_spawn_args args,
                               caf::actor data_producer, caf::actor transport,
                               std::shared_ptr<data_send_shared> shared, node_context_ptr ctx);

} // namespace chorus::actors
