#include "bench/client/client_driver.hpp"

#include "bench/client/clock.hpp"
#include "bench/client/signaling_json.hpp"

#include <algorithm>

namespace chorus::client {

void client_driver::step(uint64_t max_wait_ms) {
  signaling_.poll();
  transports_.poll_once(max_wait_ms);
  signaling_.poll();
}

bool client_driver::run_until(const std::function<bool()>& done, uint64_t deadline_ms) {
  for (;;) {
    if (done())
      return true;
    const uint64_t now = steady_now_ms();
    if (now >= deadline_ms)
      return false;
    step(std::min(slice_ms_, deadline_ms - now));
  }
}

void client_driver::run_for(uint64_t duration_ms) {
  run_until([] { return false; }, steady_now_ms() + duration_ms);
}

result<signaling_message> client_driver::request(signaling_client& client, std::string_view type,
                                                 std::string_view data_json,
                                                 uint64_t deadline_ms) {
  if (!client.is_open())
    return failure{"signaling closed: " + client.close_reason()};
  const int64_t id = client.send_request(type, data_json);
  std::optional<signaling_message> reply;
  run_until(
    [&] {
      if (!reply)
        reply = client.take_reply(id);
      return reply.has_value() || !client.is_open();
    },
    deadline_ms);
  if (reply)
    return std::move(*reply);
  client.forget_request(id);
  if (!client.is_open())
    return failure{"signaling closed while waiting for the reply to " + std::string(type) +
                   ": " + client.close_reason()};
  return failure{"no reply to " + std::string(type) + " before the deadline"};
}

namespace {

std::string describe_error(const signaling_message& m) {
  return m.type + " " + (m.data.empty() ? std::string("(no data)") : m.data);
}

} // namespace

connect_result open_webrtc_transport(client_driver& driver, signaling_client& signaling,
                                     std::shared_ptr<const net::dtls_context> dtls,
                                     const connect_options& options, uint64_t deadline_ms,
                                     const connect_hooks& hooks) {
  connect_result out;
  auto failed = [&](std::string stage, std::string error) {
    out.stage = std::move(stage);
    out.error = std::move(error);
    if (out.transport)
      driver.transports().remove(*out.transport);
    return std::move(out);
  };

  auto reply = driver.request(signaling, "create-transport",
                              "{\"direction\":\"" + options.direction + "\"}", deadline_ms);
  if (!reply)
    return failed("create-transport", reply.error());
  if (reply->type != "transport-params")
    return failed("create-transport", describe_error(*reply));
  auto params = parse_transport_params(reply->data);
  if (!params)
    return failed("create-transport", "bad transport-params: " + params.error());

  auto transport = webrtc_client_transport::create(*params, std::move(dtls), options.transport);
  if (!transport)
    return failed("transport", transport.error());
  out.transport = std::move(*transport);
  webrtc_client_transport& t = *out.transport;
  if (hooks.before_ice)
    hooks.before_ice(t);

  // ICE: the first on_timer() sends the first check.
  driver.transports().add(t);
  const uint64_t ice_start = steady_now_ms();
  t.on_timer(ice_start);
  if (hooks.ice_started)
    hooks.ice_started(t);
  const uint64_t ice_deadline = std::min(deadline_ms, ice_start + options.ice_timeout_ms);
  driver.run_until(
    [&] { return t.finished() || t.state() == client_transport_state::ice_connected; },
    ice_deadline);
  if (t.state() != client_transport_state::ice_connected)
    return failed("ice", t.finished() ? t.failure_reason()
                                      : "ICE not connected within " +
                                          std::to_string(ice_deadline - ice_start) + " ms");
  out.ice_ms = steady_now_ms() - ice_start;

  reply = driver.request(signaling, "connect-transport",
                         connect_transport_data(t.id(), t.local_dtls_parameters()), deadline_ms);
  if (!reply)
    return failed("connect-transport", reply.error());
  if (reply->type != "transport-connected")
    return failed("connect-transport", describe_error(*reply));
  if (t.finished())
    return failed("connect-transport", t.failure_reason());

  const uint64_t dtls_start = steady_now_ms();
  t.start_dtls(dtls_start);
  driver.run_until([&] { return t.finished() || t.connected(); }, deadline_ms);
  if (!t.connected())
    return failed("dtls", t.finished() ? t.failure_reason()
                                       : "DTLS not connected before the deadline (state " +
                                           std::string(net::to_string(t.dtls_state())) + ")");
  out.dtls_ms = steady_now_ms() - dtls_start;
  return out;
}

} // namespace chorus::client
