// What CAF 0.17.6 can write back to the wire. Its binary serializer encodes a float or a
// double by halving it until it drops below 2 (caf::detail::pack754), which never ends for an
// infinity; its deserializer, reading a peer's bytes, makes infinities and NaNs happily. So a
// message another node sent may hold a value that hangs the actor that sends it on to a
// third node. Chorus's own message types hold no floating-point field; a peer can still send
// CAF's built-in ones (a bare double, an error whose context holds one).
#pragma once

#include <caf/fwd.hpp>

namespace chorus::actors {

// False when any float, double or long double in `msg` (nested messages and errors
// included) is an infinity or a NaN, or when CAF could not write `msg` at all (a type that is
// not registered). Walked as `sys` would write it (a local actor handle in it is entered in
// the registry, as sending it does).
bool writable(caf::actor_system& sys, const caf::message& msg);

// `err` as it may be passed on to another node: unchanged when its context is writable,
// else its code and category alone.
caf::error writable(caf::actor_system& sys, caf::error err);

} // namespace chorus::actors
