// The signaling command set, independent of any dialect: typed requests a client sends
// (protocol/requests.hpp), typed replies (protocol/replies.hpp), and typed events the server
// pushes (protocol/events.hpp). Dialect codecs (protocol/dialect_*) translate between these
// and the wire; actors only ever see these types.
#pragma once

#include "protocol/events.hpp"
#include "protocol/replies.hpp"
#include "protocol/requests.hpp"
