#include "actors/loopback_consumer.hpp"

#include "actors/messages.hpp"
#include "actors/plain_transport.hpp"
#include "common/text.hpp"
#include "rtp/ortc.hpp"
#include "rtp/playout_delay.hpp"

#include <caf/all.hpp>

#include <chrono>

namespace chorus::actors {

void loopback_consumer::end(caf::event_based_actor* owner) {
  if (consumer)
    owner->send_exit(consumer, caf::exit_reason::user_shutdown);
  if (transport)
    owner->send_exit(transport, caf::exit_reason::user_shutdown);
  consumer = nullptr;
  transport = nullptr;
  send = nullptr;
}

result<rtp::rtp_parameters> loopback_parameters(const producer_info& info, const node_context& ctx,
                                                uint32_t ssrc) {
  rtp::consumer_options opts;
  opts.ssrc = ssrc;
  opts.rtx_ssrc = ssrc ^ 0x10000000u; // must differ from the SSRC
  opts.mid = "0";
  opts.cname = info.consumable.rtcp.cname;
  auto caps = ctx.router_capabilities;
  std::erase_if(caps.codecs, [](const rtp::codec_capability& c) {
    return text::iequals(c.mime_type, "audio/red");
  });
  // FFmpeg plays nothing out: a playout delay would be bytes it skips.
  std::erase_if(caps.header_extensions, [](const rtp::header_extension_capability& e) {
    return e.uri == rtp::playout_delay_uri;
  });
  auto params = rtp::consumer_parameters(info.consumable, caps, opts);
  if (!params)
    return failure{params.error()};
  if (params->codecs.empty())
    return failure{"no codec"};
  return std::move(*params);
}

result<loopback_consumer> consume_to_loopback(caf::event_based_actor* owner, consumer_spawn_args args,
                                              caf::actor producer, uint16_t port,
                                              node_context_ptr ctx) {
  protocol::plain_transport_request req;
  req.rtcp_mux = true;
  auto spawned = spawn_plain_transport(owner, req, ctx);
  if (!spawned)
    return failure{spawned.error()};
  protocol::plain_transport_request connect;
  connect.op = protocol::plain_op::connect;
  connect.ip = "127.0.0.1";
  connect.port = port;
  owner->request(spawned->actor, std::chrono::seconds(5), std::move(connect))
    .then([](protocol::empty_reply&) {}, [](caf::error&) {});
  loopback_consumer c;
  c.transport = spawned->actor;
  c.send = spawned->send;
  c.consumer = spawn_consumer(owner, std::move(args), std::move(producer), c.transport, c.send,
                              std::move(ctx));
  return c;
}

} // namespace chorus::actors
