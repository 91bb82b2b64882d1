// The one definition of the CAF inspect functions of every declared message and message
// field: with CHORUS_MESSAGE_DEFINITIONS defined before any include, each CHORUS_FIELDS and
// CHORUS_MESSAGE of the headers below expands to the functions' bodies
// (actors/message_declaration.hpp).
#define CHORUS_MESSAGE_DEFINITIONS

#include "actors/all_messages.hpp"
