// Who asked an actor to exit. CAF 0.17's anon_send_exit() names the receiver itself as
// the exit message's source, not a null address: an exit handler for which "an anonymous
// request (the process's shutdown, an operator's tool, a test) ends me" must accept both.
#pragma once

#include <caf/system_messages.hpp>

namespace chorus::actors {

template <class Self>
bool anonymous_exit(const Self* self, const caf::exit_msg& em) {
  return !em.source || em.source == self->address();
}

} // namespace chorus::actors
