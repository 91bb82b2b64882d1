#include "actors/messages.hpp"

#include "actors/message_declaration.hpp"

#include <caf/actor_system_config.hpp>

// The one definition of the registrars (actors/message_declaration.hpp): it comes before
// the headers below, so that each CHORUS_MESSAGE they declare compiles its registrar here.
template <class T>
void chorus::actors::declared::registrar<T>::add(caf::actor_system_config& cfg,
                                                 const char* name) {
  cfg.add_message_type<T>(name);
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
  cfg.add_message_type<std::vector<cluster_node>>("chorus::cluster_node_list")
    .add_message_type<std::vector<cluster_member>>("chorus::cluster_members")
    .add_message_type<store::record_event>("chorus::record_event") // actors/recorder.hpp
    .add_message_type<forwarded_packet>("chorus::forwarded_packet")
    .add_message_type<rtp_out>("chorus::rtp_out")
    .add_message_type<std::vector<producer_info>>("chorus::producer_info_list")
    .add_message_type<std::vector<admin_participant>>("chorus::admin_participants")
    .add_message_type<std::vector<admin_producer>>("chorus::admin_producers");
}

} // namespace chorus::actors
