// The relay: on the node of a consumer whose producer lives on another node of the cluster,
// one relay per remote producer stands in for it. It attaches to the producer once, so the
// producer's node sends each packet across the link once, and fans the packets out to the
// local consumers, which attach to the relay exactly as they would to a producer
// (attach_consumer; media_packets, source_clock and producer_state to them; keyframe
// requests from them go upstream, where the producer throttles them). The relay ends when
// its producer ends (its consumers see that as their producer's end) or when its last
// consumer is gone.
#pragma once

#include "actors/context.hpp"

#include <caf/fwd.hpp>

namespace chorus::actors {

caf::actor spawn_relay(caf::actor_system& sys, caf::actor producer, node_context_ptr ctx);

} // namespace chorus::actors
