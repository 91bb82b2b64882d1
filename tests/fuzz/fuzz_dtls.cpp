// libFuzzer: the DTLS engine (net/dtls_engine.hpp, OpenSSL) fed arbitrary datagrams, as a
// browser (or anyone who learnt the transport's port) may send them: before and during a
// handshake, as server or client (the first byte chooses), with the timer driven between
// datagrams. The input is a run of datagrams, each a 2-byte big-endian length and its bytes.
// The well-formedness check the transport applies first (is_well_formed_dtls) is fuzzed on
// every datagram too, and the engine gets all of them, well-formed or not.
#include "net/dtls_certificate.hpp"
#include "net/dtls_engine.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <span>

using namespace chorus::net;

namespace {

std::shared_ptr<const dtls_context> context() {
  static std::shared_ptr<const dtls_context> ctx = [] {
    auto cert = dtls_certificate::generate(1'800'000'000);
    if (!cert.ok())
      std::abort();
    auto c = dtls_context::create(std::make_shared<const dtls_certificate>(std::move(cert.value())));
    if (!c.ok())
      std::abort();
    return c.value();
  }();
  return ctx;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1 || size > 16384)
    return 0;
  const dtls_role role = (data[0] & 1) ? dtls_role::client : dtls_role::server;
  auto engine = dtls_engine::create(context(), role);
  if (!engine.ok())
    std::abort();
  auto& e = engine.value();
  (void)e.set_remote_fingerprint(
    {"sha-256", "00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF"});
  uint64_t now = 1000;
  (void)e.start(now);
  size_t at = 1;
  while (at + 2 <= size) {
    const size_t n = (size_t(data[at]) << 8) | data[at + 1];
    at += 2;
    const size_t take = n < size - at ? n : size - at;
    std::span<const uint8_t> datagram(data + at, take);
    at += take;
    (void)is_dtls_datagram(datagram);
    (void)is_well_formed_dtls(datagram);
    now += 10;
    (void)e.handle(datagram, now);
    if (auto t = e.next_timeout_ms(); t && *t <= now + 1000) {
      now = *t;
      (void)e.on_timer(now);
    }
  }
  return 0;
}
