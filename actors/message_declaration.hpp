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
#pragma once

#include <caf/fwd.hpp>
#include <caf/meta/type_name.hpp>

#include <vector>

namespace chorus::actors::declared {

// Adds T to a configuration under its name. Only declared here: it is defined, and so
// compiled, in actors/messages.cpp alone, which includes every header that declares
// messages. A header it does not include leaves its types' registrars undefined, which
// the link reports. (Compiled in every includer, the registrations made each actor
// source instantiate CAF's serialization of every message: minutes of compile time.)
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

#define CHORUS_FIELDS(T, ...)                                                                    \
  template <class Inspector>                                                                   \
  typename Inspector::result_type inspect(Inspector& f, [[maybe_unused]] T& x) {               \
    return f(caf::meta::type_name(#T) __VA_OPT__(, ) __VA_ARGS__);                             \
  }

#define CHORUS_MESSAGE(T, ...)                                                                   \
  CHORUS_FIELDS(T __VA_OPT__(, ) __VA_ARGS__)                                                  \
  inline const bool chorus_declared_##T = ::chorus::actors::declared::declare<T>("chorus::" #T)
