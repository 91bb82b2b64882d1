// Messages of the data channel path (SCTP data producers and consumers) and of data
// signaling between peers and rooms. Declared with CHORUS_MESSAGE like every other message,
// so that a data consumer on another node
// reaches a data producer through a relay (actors/relay.cpp), as media does.
//
//   transport --data_message--> data producer --data_message--> data consumer
//   data consumer --data_out--> its transport (SCTP send on the consumer's stream)
//   room (server-side data producer) --data_message--> data producer
#pragma once

#include "actors/message_declaration.hpp"

#include "actors/messages.hpp"
#include "protocol/messages.hpp"

#include <caf/message.hpp>
#include <caf/meta/type_name.hpp>

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

namespace chorus::actors {

using sctp_pending_atom = caf::atom_constant<caf::atom("sctppend")>; // usrsctp output waits
using sctp_tick_atom = caf::atom_constant<caf::atom("sctptick")>;    // usrsctp timers

// One data channel message: PPID (51 string, 53 binary, 56/57 empty) and its bytes.
// `sent_us` is the sender's monotonic clock when the server took it (latency figures).
// Sent ONCE per fan-out as one caf::message shared by every receiver.
struct data_message {
  uint32_t ppid = 51;
  std::vector<uint8_t> data;
  int64_t received_us = 0;
  // The room's own messages: the chat message's number (from 1, continued by a rebuilt
  // room), so that a consumer resuming after a move takes each once (data_replay).
  uint64_t seq = 0;
};

// data consumer -> its transport: send `payload` (a message holding one data_message) on
// `stream`. The payload is the producer's message itself: no copy per consumer.
struct data_out {
  uint16_t stream = 0;
  protocol::sctp_stream_parameters options;
  caf::message payload;
};

// peer -> transport: the client sends a data producer's messages on `stream` (reply: true,
// or invalid-field when the stream is taken or no SCTP). The transport monitors it.
struct data_producer_route {
  caf::actor data_producer;
  uint16_t stream = 0;
};

// peer -> transport: a data consumer sends on `stream` (reply: true, or an error). The
// transport monitors it and resets the stream when it ends.
struct data_consumer_route {
  caf::actor data_consumer;
  uint16_t stream = 0;
};

// peer -> room: a new data producer (announced as new-data-producer); room -> peer: the
// answer to find_data_producer. peer_id empty: the room's own data producer.
struct data_producer_info {
  std::string data_producer_id;
  std::string peer_id;
  std::string label;
  std::string protocol;
  std::string app_data;
  protocol::sctp_stream_parameters stream; // ordered / partial reliability for consumers
  caf::actor data_producer;
};

struct data_producer_removed {
  std::string data_producer_id;
};

// A data consumer of the room's own data producer outlives it (the room moves or is
// rebuilt elsewhere, where the room's own keeps its id): data consumer -> its peer when
// that producer (or its relay) ended; the peer finds the producer again at the room and
// answers data_source, or ends the consumer (data-consumer-closed) when the room has it no
// more.
struct data_source_lost {
  std::string data_consumer_id;
};

// peer -> data consumer: the data producer (or this node's relay of it) to take messages
// from now on; the consumer attaches itself and monitors it, and asks `origin` (the room's
// own data producer itself) for what it sent meanwhile.
struct data_source {
  caf::actor data_producer;
  caf::actor origin;
};

// data consumer -> the room's own data producer: its recent messages numbered after
// `after` (reply data_replay_reply). A rebuilt room's own starts with the last public chat
// of the room's copy, so a consumer also gets what the lost home sent and it never got.
struct data_replay {
  uint64_t after = 0;
};
struct data_replay_reply {
  std::vector<data_message> messages;
};

// peer -> room: the data producer to consume (reply data_producer_info, or
// unknown-producer / forbidden).
struct find_data_producer {
  std::string data_producer_id;
  std::string peer_id;
};

// peer -> room: may `peer_id` produce data (permission chat)? Reply empty_reply or forbidden.
struct data_publish_check {
  std::string peer_id;
};

// peer -> room: the peer made its first transport with SCTP; the room sends its session a
// new-data-producer for every data producer there is (the room's own first). Peers that
// never ask for data channels hear of data producers only as they are made.
struct data_producers_query {
  std::string peer_id;
};

// What a transport's data consumers share with it: bytes handed to the transport and not
// yet sent into SCTP. Above `limit` a consumer drops (a slow receiver never grows memory).
struct data_send_shared {
  std::atomic<int64_t> queued_bytes{0};
  int64_t limit = 1 << 20;
};

CHORUS_MESSAGE(data_message, x.ppid, x.data, x.received_us, x.seq);
CHORUS_MESSAGE(data_out, x.stream, x.options, x.payload);
CHORUS_MESSAGE(data_producer_route, x.data_producer, x.stream);
CHORUS_MESSAGE(data_consumer_route, x.data_consumer, x.stream);
CHORUS_MESSAGE(data_producer_info, x.data_producer_id, x.peer_id, x.label, x.protocol, x.app_data,
               x.stream, x.data_producer);
CHORUS_MESSAGE(data_producer_removed, x.data_producer_id);
CHORUS_MESSAGE(data_source_lost, x.data_consumer_id);
CHORUS_MESSAGE(data_source, x.data_producer, x.origin);
CHORUS_MESSAGE(data_replay, x.after);
CHORUS_MESSAGE(data_replay_reply, x.messages);
CHORUS_MESSAGE(find_data_producer, x.data_producer_id, x.peer_id);

CHORUS_MESSAGE(data_publish_check, x.peer_id);
CHORUS_MESSAGE(data_producers_query, x.peer_id);

} // namespace chorus::actors

namespace chorus::protocol {

CHORUS_MESSAGE(sctp_stream_parameters, x.stream_id, x.ordered, x.has_max_packet_life_time,
               x.max_packet_life_time, x.has_max_retransmits, x.max_retransmits);
CHORUS_MESSAGE(produce_data_request, x.room_id, x.transport_id, x.stream, x.label, x.protocol,
               x.app_data);
CHORUS_MESSAGE(consume_data_request, x.room_id, x.data_producer_id, x.transport_id);
CHORUS_MESSAGE(data_producer_request, x.room_id, x.op, x.data_producer_id);
CHORUS_MESSAGE(data_consumer_request, x.room_id, x.op, x.data_consumer_id);
CHORUS_MESSAGE(data_consumer_params_reply, x.id, x.data_producer_id, x.stream, x.label, x.protocol,
               x.app_data, x.peer_id);
CHORUS_MESSAGE(new_data_producer_event, x.data_producer_id, x.peer_id, x.label, x.protocol);
CHORUS_MESSAGE(data_producer_closed_event, x.data_producer_id, x.peer_id);
CHORUS_MESSAGE(data_consumer_closed_event, x.data_consumer_id, x.data_producer_id);

} // namespace chorus::protocol
