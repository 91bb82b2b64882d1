// The class record: what happened in a room, as events the room sends to the node's
// recorder (actors/recorder.hpp), which writes them in batches to a record_store
// (store/record_store.hpp). Plain structs without CAF (their `inspect` overloads live in
// actors/serialization.hpp); times are Unix milliseconds, text is UTF-8.
//
// A "class" is one opening of a room: from room_opened to room_closed. The store ties every
// other record of a room to the latest opening of that room id it holds (docs/operations.md,
// "Class record").
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <variant>
#include <vector>

namespace chorus::store {

// The room came into being on node `node_id` (its home in a cluster).
struct room_opened {
  std::string room_id;
  std::string node_id;
  int64_t at_ms = 0;
};

// The room ended (its last peer left, or end-room). Attendance still open is closed at
// this time.
struct room_closed {
  std::string room_id;
  std::string node_id;
  int64_t at_ms = 0;
};

// A participant joined (a row of attendance). A reconnect that joins again is a new row.
struct peer_joined {
  std::string room_id;
  std::string peer_id;
  std::string user_id; // "": none given
  std::string name;
  std::string role;    // "": no role (auth.mode none without a default role)
  int64_t at_ms = 0;
};

// The participant left (its open attendance row gets this leave time).
struct peer_left {
  std::string room_id;
  std::string peer_id;
  int64_t at_ms = 0;
};

// A chat message to the room, or privately to `to_peer_id` ("": to the room).
struct chat_posted {
  std::string room_id;
  std::string message_id;
  std::string from_peer_id;
  std::string from_user_id;
  std::string name; // the sender's name at the time
  std::string text;
  std::string to_peer_id;
  int64_t at_ms = 0;
};

// A moderator deleted a message (the row stays, marked deleted).
struct chat_deleted {
  std::string room_id;
  std::string message_id;
  std::string by_peer_id;
  int64_t at_ms = 0;
};

struct poll_created {
  std::string room_id;
  std::string poll_id;
  std::string question;
  std::vector<std::string> options; // index = position
  bool multiple = false;
  bool anonymous = false;
  std::string created_by; // peer id
  int64_t at_ms = 0;
};

// A vote, or a changed vote: `options` replaces the voter's earlier choice. For an
// anonymous poll the store keeps no voter ids (nor the time): it removes one earlier
// anonymous row per index of `previous` (the voter's choice before this vote, which the
// room knows) and adds rows for `options`.
struct vote_cast {
  std::string room_id;
  std::string poll_id;
  std::string voter_peer_id;
  std::string voter_user_id;
  std::vector<uint32_t> options;
  std::vector<uint32_t> previous; // only read for anonymous polls
  int64_t at_ms = 0;
};

// The poll closed with these final counts (one per option) and this many voters.
struct poll_closed {
  std::string room_id;
  std::string poll_id;
  std::vector<uint32_t> counts;
  uint32_t voters = 0;
  int64_t at_ms = 0;
};

// A moderation action: "mute-peer", "kick-peer", "block-peer", "disable-chat", "end-room",
// ... (the request's name), its target ("" for the room), by whom (peer id), and why.
struct moderation_taken {
  std::string room_id;
  std::string action;
  std::string target;
  std::string by_peer_id;
  std::string reason;
  int64_t at_ms = 0;
};

// A meeting registered through the HTTP API (POST /api/meetings): `room_id` is the
// meeting's id, whose room has `creator_id` as its host. Read back at start
// (record_store::load_meetings).
struct meeting_created {
  std::string room_id;
  std::string creator_id;
  std::string description;
  int64_t starts_at_ms = 0; // 0: not given
  int64_t at_ms = 0;
};

// A recording of the room (seed 003's class recordings; actors/media_recorder.hpp): started,
// then stopped with its manifest (on the recording node's disk: the recording's location).
struct recording_started {
  std::string room_id;
  std::string recording_id;
  std::string started_by; // the starter's public id; "" for recording.autoStart
  std::string node_id;
  int64_t at_ms = 0;
};

struct recording_stopped {
  std::string room_id;
  std::string recording_id;
  std::string manifest_path;
  uint32_t files = 0; // files with media
  int64_t duration_ms = 0;
  int64_t at_ms = 0;
};

// The room, rebuilt on node_id after its home was lost, goes on as the class that home
// opened (the latest opening of the room id still open, else the one just opened here),
// and writes what the home's copy held of the class, each item only where the store lacks
// it: the chat (by message id), the polls (by poll id) and the votes of polls that name
// their voters (a vote replaces the voter's rows). What the lost home acknowledged but had
// not written yet is so written once.
struct class_resumed {
  std::string room_id;
  std::string node_id;
  std::vector<chat_posted> chat;
  std::vector<poll_created> polls;
  std::vector<vote_cast> votes;
  int64_t at_ms = 0;
};

using record = std::variant<room_opened, room_closed, peer_joined, peer_left, chat_posted,
                            chat_deleted, poll_created, vote_cast, poll_closed,
                            moderation_taken, meeting_created, recording_started,
                            recording_stopped, class_resumed>;

// The message the recorder takes: `send(recorder, store::record_event{store::chat_posted{...}})`.
struct record_event {
  store::record body;
};

// What writing a batch did: the records written (a vote whose poll the store lacks is
// skipped), or nothing because an earlier try of the same batch was written (`repeated`).
struct batch_result {
  size_t written = 0;
  bool repeated = false;
};

// The room id of any record.
const std::string& room_of(const record& r);

// The record's kind as a short name ("room_opened", ...), for logs.
const char* kind_name(const record& r);

} // namespace chorus::store
