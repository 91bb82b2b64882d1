#include "net/dtls_parameters.hpp"

namespace chorus::net {

std::string_view to_string(dtls_role r) noexcept {
  switch (r) {
    case dtls_role::auto_:
      return "auto";
    case dtls_role::client:
      return "client";
    case dtls_role::server:
      return "server";
  }
  return "auto";
}

} // namespace chorus::net
