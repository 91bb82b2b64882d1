// Fault injection (tests only: the server runs with --fault-injection): what an actor does
// with a fault_command. Kept out of messages.hpp so that only the actors that can be made to
// fail include it.
#pragma once

#include "actors/messages.hpp"

#include <caf/sec.hpp>

#include <stdexcept>
#include <string>
#include <string_view>

namespace chorus::actors {

// The refusal of a fault-injection request (`forbidden`) when the server runs without
// --fault-injection.
inline std::string fault_injection_off(std::string_view request) {
  return std::string{request} + " is fault injection: the server runs without --fault-injection";
}

// Fails the actor now: an exception out of the current handler (CAF's exception handler
// ends the actor with sec::runtime_error), or a quit with that error.
template <class Self>
void fail_now(Self* self, const fault_command& f) {
  if (f.exit) {
    self->quit(caf::make_error(caf::sec::runtime_error, "injected fault (exit)"));
    return;
  }
  throw std::runtime_error("injected fault (throw)");
}

} // namespace chorus::actors
