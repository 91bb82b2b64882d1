// A WebSocket signaling client for the plain JSON dialect of docs/protocol.md
// (`{type, data, requestId}`), on Boost.Beast (kept out of this header).
//
// Many clients share one signaling_loop (one Asio io_context) and are driven from one
// thread: the owner calls loop.poll() (never blocks) between its other work, or one of
// the blocking helpers, which run the loop until their answer arrives or their deadline
// passes. While the loop runs, every client keeps a read pending, so the server's
// keep-alive pings are answered and events are collected as they arrive.
//
// Requests carry numeric requestIds chosen here; a reply (or error) is matched by its
// requestId, everything else is an event, queued in arrival order (bounded).
// The loop must outlive its clients. Not thread-safe.
#pragma once

#include "common/result.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace chorus::client {

class signaling_loop {
public:
  signaling_loop();
  signaling_loop(const signaling_loop&) = delete;
  signaling_loop& operator=(const signaling_loop&) = delete;
  ~signaling_loop();

  // Runs the handlers that are ready, without blocking; returns how many ran.
  std::size_t poll();
  // Runs handlers for at most `max_wait`, returning after the first one ran (or the wait).
  std::size_t run_one_for(std::chrono::milliseconds max_wait);

  struct impl;
  impl& native() noexcept { return *impl_; }

private:
  std::unique_ptr<impl> impl_;
};

struct signaling_message {
  std::string type;
  std::string data;                  // the `data` member as JSON text; empty when absent
  std::optional<int64_t> request_id; // a numeric requestId, when present
  std::string text;                  // the whole frame

  bool is_error() const noexcept { return type == "error"; }
};

struct signaling_counters {
  uint64_t frames_sent = 0;
  uint64_t frames_received = 0;
  uint64_t replies = 0;
  uint64_t events = 0;
  uint64_t events_dropped = 0; // the event queue was full
  uint64_t unparsable = 0;     // frames that were not a JSON object with a string type
};

class signaling_client {
public:
  static constexpr std::size_t max_queued_events = 4096;

  // `url`: ws://HOST:PORT/PATH?QUERY (e.g. /socket?auth=alice&channelId=room1). Resolves,
  // connects and completes the WebSocket handshake within `timeout` (running the loop).
  static result<std::unique_ptr<signaling_client>> connect(signaling_loop& loop,
                                                           std::string_view url,
                                                           std::chrono::milliseconds timeout);

  signaling_client(const signaling_client&) = delete;
  signaling_client& operator=(const signaling_client&) = delete;
  ~signaling_client(); // drops the connection without a closing handshake (see close())

  // Queues `{"type":type,"data":data_json,"requestId":N}` (data omitted when empty; it
  // must be a JSON object's text) and returns N. The reply is collected by the loop.
  int64_t send_request(std::string_view type, std::string_view data_json = {});
  // The reply to request `id` once it arrived (removed from the client).
  std::optional<signaling_message> take_reply(int64_t id);
  // Stops waiting for request `id` (its reply, should it still come, becomes an event).
  void forget_request(int64_t id);
  // send_request + run the loop until the reply arrives; fails on timeout or close.
  result<signaling_message> request(std::string_view type, std::string_view data_json,
                                    std::chrono::milliseconds timeout);

  // Events received so far (removed from the client), oldest first.
  std::vector<signaling_message> take_events();

  bool is_open() const noexcept;
  // Why the connection ended (empty while open).
  const std::string& close_reason() const noexcept;
  // Close handshake with code 1000, bounded by `timeout` (running the loop), then the
  // TCP connection is closed.
  void close(std::chrono::milliseconds timeout = std::chrono::milliseconds(1000));

  const signaling_counters& counters() const noexcept;

  struct impl;

private:
  explicit signaling_client(std::shared_ptr<impl> p) noexcept;
  std::shared_ptr<impl> impl_;
};

// `text` with every byte outside [A-Za-z0-9-._~] percent-encoded (query values).
std::string url_encode(std::string_view text);

} // namespace chorus::client
