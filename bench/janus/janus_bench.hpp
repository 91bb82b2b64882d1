// chorus-bench --target janus: the `class` scenario (1 publisher with audio + video, N
// subscribers) through Janus's VideoRoom, with the same synthetic media (bench/load/media.hpp),
// the same receiver accounting (bench/load/receiver.hpp: loss, NACK, PLI, receiver reports,
// one-way latency) and the same result (bench/load/runner.hpp's bench_result, so the report
// and the JSON are those of a run against Chorus).
//
// Signaling: the Janus API over WebSocket (bench/janus/janus_client.hpp): one session for the
// publisher (join + configure with our SDP offer), one session for all subscribers (a handle
// each: join with streams:[{feed}], start with our recvonly answer). Media: one
// janus_transport (full ICE, DTLS in the negotiated role, SRTP) per PeerConnection, all
// driven from the calling thread (one client thread).
#pragma once

#include "bench/load/runner.hpp"

namespace chorus::bench {

bench_result run_janus_bench(const bench_options& options);

} // namespace chorus::bench
