// Every header that declares messages or message fields (CHORUS_MESSAGE, CHORUS_FIELDS;
// actors/message_declaration.hpp). Included by the two sources that define what those
// declare: actors/messages.cpp (the registrations) and actors/message_inspect.cpp (the
// inspect functions). A new declaring header is added here.
#pragma once

#include "actors/cluster_messages.hpp"
#include "actors/data_messages.hpp"
#include "actors/media_messages.hpp"
#include "actors/messages.hpp"
#include "actors/operations.hpp"
#include "actors/record_serialization.hpp"
#include "actors/rehome_messages.hpp"
#include "actors/serialization.hpp"
#include "actors/ticker.hpp"
