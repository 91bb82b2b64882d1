// The connection of a session actor whose client is an actor of the server's own (a WHIP or
// WHEP resource, an RTMP ingest): what the session sends (the typed dialect's reply ids,
// protocol/typed_dialect.hpp) and its close reach that actor as messages, named weakly (the
// actor holds the session, not the other way round).
#pragma once

#include "net/http_server.hpp"

#include <caf/actor_cast.hpp>
#include <caf/atom.hpp>
#include <caf/send.hpp>

#include <cstdint>
#include <string>

namespace chorus::actors {

using typed_text_atom = caf::atom_constant<caf::atom("typedtext")>;
using typed_closed_atom = caf::atom_constant<caf::atom("typedclose")>;

// Sends (typed_text_atom, text) and (typed_closed_atom, code, reason) to `client`.
class typed_connection final : public net::ws_connection {
public:
  explicit typed_connection(caf::actor_addr client) : client_(std::move(client)) {}
  void send(std::string text) override {
    if (auto a = caf::actor_cast<caf::actor>(client_))
      caf::anon_send(a, typed_text_atom::value, std::move(text));
  }
  void close(uint16_t code, std::string reason) override {
    if (auto a = caf::actor_cast<caf::actor>(client_))
      caf::anon_send(a, typed_closed_atom::value, code, std::move(reason));
  }
  void message_processed() override {}

private:
  caf::actor_addr client_;
};

} // namespace chorus::actors
