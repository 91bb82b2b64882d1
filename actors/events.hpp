// Room and participant events for the outside world (webhooks): what the rooms
// report as it happens, handed to a sink that must never block (app/webhooks.hpp queues
// and sends them on its own thread). Not for the media path.
#pragma once

#include "actors/context.hpp"
#include "protocol/webhook.hpp"

#include <cstdint>
#include <string>

namespace chorus::actors {

// The event (its fields: protocol/webhook.hpp).
using ops_event = protocol::webhook_event;

class event_sink {
public:
  virtual ~event_sink() = default;
  // Thread-safe, never blocks (a full queue drops and counts).
  virtual void emit(ops_event ev) noexcept = 0;
};

// Hands `ev` to the node's sink, if any.
inline void emit_event(const node_context& ctx, ops_event ev) {
  if (ctx.events)
    ctx.events->emit(std::move(ev));
}

// The recorder calls it when a recording's file is
// complete. recording-finished goes to the webhooks like the room events.
inline void recording_finished(const node_context& ctx, const std::string& room_id,
                               const std::string& recording_id, const std::string& file,
                               int64_t bytes, int64_t duration_ms, int64_t at_ms) {
  ops_event ev;
  ev.type = "recording-finished";
  ev.room_id = room_id;
  ev.node_id = ctx.settings.node_id;
  ev.recording_id = recording_id;
  ev.file = file;
  ev.bytes = bytes;
  ev.duration_ms = duration_ms;
  ev.at_ms = at_ms;
  emit_event(ctx, std::move(ev));
}

} // namespace chorus::actors
