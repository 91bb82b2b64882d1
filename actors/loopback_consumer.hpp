// A consumer of one producer that sends plain RTP to a port on 127.0.0.1: how the media
// recorder and the live streamer take a producer's media for their FFmpeg children (to a
// socket of their own, or to the child's port). A plain transport (rtcp-mux) connected to
// that port, linked to the owner, and a running consumer on it (its start asks the
// producer for a keyframe).
#pragma once

#include "actors/consumer.hpp"
#include "actors/context.hpp"
#include "common/result.hpp"
#include "actors/media_messages.hpp"
#include "rtp/rtp_parameters.hpp"

#include <caf/actor.hpp>

#include <cstdint>
#include <memory>

namespace caf {
class event_based_actor;
}

namespace chorus::actors {

struct loopback_consumer {
  caf::actor transport, consumer;
  std::shared_ptr<send_shared> send; // the transport's sender (what went out: rtp_sent)

  // Ends the consumer and its transport (nothing when it has none).
  void end(caf::event_based_actor* owner);
};

// The consumer's parameters for `info`: one SSRC (`ssrc`; its retransmission SSRC is never
// used, as FFmpeg sends no NACK), mid 0, and the router's codecs but audio/red (files and the
// composer take plain Opus: a RED producer's packets are unwrapped for such a consumer).
// Fails with what is wrong ("no codec" when nothing matches).
result<rtp::rtp_parameters> loopback_parameters(const producer_info& info, const node_context& ctx,
                                                uint32_t ssrc);

result<loopback_consumer> consume_to_loopback(caf::event_based_actor* owner, consumer_spawn_args args,
                                              caf::actor producer, uint16_t port,
                                              node_context_ptr ctx);

} // namespace chorus::actors
