// A message between actors is declared once, beside its struct:
//
//   struct poll_flush { std::string poll_id; };
//   CHORUS_MESSAGE(poll_flush, x.poll_id);
//
// gives the struct its CAF `inspect` (the fields in order: serialization for remote nodes,
// to_string for logs) and registers it as "chorus::poll_flush" with every actor system
// (register_message_types in actors/messages.cpp walks the declared list). A struct that
// travels only inside a message (a field's type) takes CHORUS_FIELDS: the inspect without
// the registration. Use either in the struct's namespace, where the type is named without
// qualification.
//
// The inspect functions are declared here for CAF's three inspectors (serializer,
// deserializer, to_string's) and defined once, in actors/message_inspect.cpp, which
// includes every declaring header (actors/all_messages.hpp) after defining
// CHORUS_MESSAGE_DEFINITIONS. Out of line, so that CAF's message wrapper, instantiated in
// every source that sends a message, calls them instead of compiling them there again (as
// inline templates they were a fifth to a third of each actor source's compile time).
#pragma once

#include <caf/fwd.hpp>

#ifdef CHORUS_MESSAGE_DEFINITIONS
#include <caf/deserializer.hpp>
#include <caf/detail/stringification_inspector.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/serializer.hpp>
#endif

#include <vector>

// Not in caf/fwd.hpp.
namespace caf::detail {
class stringification_inspector;
} // namespace caf::detail

namespace chorus::actors::declared {

// Adds T to a configuration under its name. Only declared here: it is defined, and so
// compiled, in actors/messages.cpp alone, which includes every header that declares
// messages (actors/all_messages.hpp). A header missing there leaves its types' registrars
// and inspect functions undefined, which the link reports. (Compiled in every includer,
// the registrations made each actor source instantiate CAF's serialization of every
// message: minutes of compile time.)
template <class T>
struct registrar {
  static void add(caf::actor_system_config& cfg, const char* name);
};

struct message_type {
  const char* name;
  void (*add)(caf::actor_system_config&, const char*);
};

// Every type declared with CHORUS_MESSAGE in the program, in no particular order.
std::vector<message_type>& message_types();

template <class T>
bool declare(const char* name) {
  message_types().push_back({name, &registrar<T>::add});
  return true;
}

} // namespace chorus::actors::declared

#ifdef CHORUS_MESSAGE_DEFINITIONS
#define CHORUS_FIELDS(T, ...)                                                                    \
  caf::error inspect(caf::serializer& f, [[maybe_unused]] T& x) {                              \
    return f(caf::meta::type_name(#T) __VA_OPT__(, ) __VA_ARGS__);                             \
  }                                                                                            \
  caf::error inspect(caf::deserializer& f, [[maybe_unused]] T& x) {                            \
    return f(caf::meta::type_name(#T) __VA_OPT__(, ) __VA_ARGS__);                             \
  }                                                                                            \
  void inspect(caf::detail::stringification_inspector& f, [[maybe_unused]] T& x) {            \
    f(caf::meta::type_name(#T) __VA_OPT__(, ) __VA_ARGS__);                                    \
  }
#else
#define CHORUS_FIELDS(T, ...)                                                                    \
  caf::error inspect(caf::serializer& f, T& x);                                                \
  caf::error inspect(caf::deserializer& f, T& x);                                              \
  void inspect(caf::detail::stringification_inspector& f, T& x);
#endif

#define CHORUS_MESSAGE(T, ...)                                                                   \
  CHORUS_FIELDS(T __VA_OPT__(, ) __VA_ARGS__)                                                  \
  inline const bool chorus_declared_##T = ::chorus::actors::declared::declare<T>("chorus::" #T)
