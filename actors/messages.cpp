#include "actors/messages.hpp"

#include "actors/message_declaration.hpp"

#include <caf/actor_system_config.hpp>
#include <caf/make_type_erased_value.hpp>

#include <type_traits>
#include <typeindex>

namespace chorus::actors::declared {

// Registers T alone under `name`: its portable name and its factory, by name and by type.
// CAF's add_message_type<T> also registers std::vector<T> and stream<T>, whose
// serialization code tripled this source's compile time (the longest of the build); no
// message carries either, and the lists that do travel are registered as types of their
// own below.
template <class T>
void register_alone(caf::actor_system_config& cfg, const char* name) {
  static_assert(std::is_default_constructible_v<T> && std::is_copy_constructible_v<T>,
                "a message type needs default and copy constructors");
  cfg.type_names_by_rtti.emplace(std::type_index(typeid(T)), name);
  cfg.value_factories_by_name.emplace(name, &caf::make_type_erased_value<T>);
  cfg.value_factories_by_rtti.emplace(std::type_index(typeid(T)),
                                      &caf::make_type_erased_value<T>);
}

} // namespace chorus::actors::declared

// The one definition of the registrars (actors/message_declaration.hpp): it comes before
// the headers below, so that each CHORUS_MESSAGE they declare compiles its registrar here.
template <class T>
void chorus::actors::declared::registrar<T>::add(caf::actor_system_config& cfg,
                                                 const char* name) {
  register_alone<T>(cfg, name);
}

#include "actors/all_messages.hpp"

#include <caf/message.hpp>
#include <caf/sec.hpp>

namespace chorus::actors {

std::vector<declared::message_type>& declared::message_types() {
  static std::vector<message_type> all;
  return all;
}

caf::error make_error(protocol::error_code code, std::string message) {
  return caf::error{static_cast<uint8_t>(static_cast<uint8_t>(code) + 1), error_category,
                    caf::make_message(std::move(message))};
}

protocol::error_info to_error_info(const caf::error& err) {
  protocol::error_info out;
  if (err.category() == error_category && err.code() > 0) {
    out.code = static_cast<protocol::error_code>(err.code() - 1);
    auto& ctx = err.context();
    if (ctx.match_elements<std::string>())
      out.message = ctx.get_as<std::string>(0);
    return out;
  }
  out.code = protocol::error_code::internal;
  if (err.category() == caf::atom("system") &&
      err.code() == static_cast<uint8_t>(caf::sec::request_timeout))
    out.message = "the request timed out";
  else
    out.message = "internal error";
  return out;
}

void register_message_types(caf::actor_system_config& cfg) {
  using namespace protocol;
  cfg.add_error_category(error_category,
                         [](uint8_t code, caf::atom_value, const caf::message& ctx) {
                           std::string s = "chorus: ";
                           if (code > 0)
                             s += protocol::to_string(
                               static_cast<protocol::error_code>(code - 1));
                           if (ctx.match_elements<std::string>())
                             s += " (" + ctx.get_as<std::string>(0) + ")";
                           return s;
                         });
  for (auto& t : declared::message_types()) // CHORUS_MESSAGE (actors/message_declaration.hpp)
    t.add(cfg, t.name);
  // The types declared without the macro: lists, and messages with an inspect of their own.
  using declared::register_alone;
  register_alone<std::vector<cluster_node>>(cfg, "chorus::cluster_node_list");
  register_alone<std::vector<cluster_member>>(cfg, "chorus::cluster_members");
  register_alone<store::record_event>(cfg, "chorus::record_event"); // actors/recorder.hpp
  register_alone<forwarded_packet>(cfg, "chorus::forwarded_packet");
  register_alone<rtp_out>(cfg, "chorus::rtp_out");
  register_alone<std::vector<producer_info>>(cfg, "chorus::producer_info_list");
  register_alone<std::vector<admin_participant>>(cfg, "chorus::admin_participants");
  register_alone<std::vector<admin_producer>>(cfg, "chorus::admin_producers");
}

} // namespace chorus::actors
