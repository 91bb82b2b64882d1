// The media path's tuning constants, in one place: timers, batch sizes, budgets and the
// thresholds of the fan-out's paths. Each says what it bounds and why it has its value;
// docs/design/*.md has the measurements behind the ones that were measured.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>

namespace chorus::actors::tuning {

// ---- producer -------------------------------------------------------------------------------
// The producer's timer runs every producer_tick_ms only while NACK retries or a throttled
// keyframe request are pending; while audio levels for the speaker observer keep coming,
// every level_batch_interval_ms (the receive path sends a batch once it is that old; the
// timer ends one the packets stopped); otherwise it wakes for the next receiver report
// (pending_delay). Each timer is a wake-up of CAF's clock thread and of a worker: at 20 ms
// for every producer, they were a large part of an idle-ish server's CPU
// (docs/design/scheduler-wakeups.md, "Fewer timers"), and an audio producer whose packets
// carry levels (every browser's) had them all the time.
inline constexpr int64_t producer_tick_ms = 20;
inline constexpr int64_t receiver_report_interval_ms = 1000;
// Audio levels go to the room's speaker observer in batches: at most every this many ms
// (checked per receive batch and per tick), or when level_batch_max samples wait.
inline constexpr int64_t level_batch_interval_ms = 100;
// An audio packet's interval (Opus's usual 20 ms frames): on its steady beat the timer
// finds the batch up to this much younger than level_batch_interval_ms (on_tick).
inline constexpr int64_t level_packet_interval_ms = 20;
inline constexpr size_t level_batch_max = 32;
// producer-layers-unused: a layer needed again is reported at once; one that stopped being
// needed only once that held for unused_hold_ms, so that a consumer passing through does
// not make the publisher turn encodings off and on.
inline constexpr int64_t unused_hold_ms = 4000;

// ---- the fan-out's paths (docs/design/lanes.md, "The gates") ---------------------------------
// Idle consumers take a batch through their direct lanes (fan_out_through_lanes): on one
// usable CPU at any fan-out and load; on several only while the process is not busy
// (lanes_busy) and the fan-out has at most this many consumers. The lane saves a message
// and a turn per consumer and batch; it runs the whole fan-out on the producer's thread,
// where messages spread it over the workers' cores.
inline constexpr size_t direct_lane_max_consumers = 256;
// The producer's lane from the media I/O thread (enter_producer_lane): a larger fan-out
// runs there only while the process's work is light.
inline constexpr size_t io_lane_max_consumers = 32;
// The process's load (actors/process_load.hpp), read over this window: busy above, idle
// below (per mille of the usable CPUs, with hysteresis); heavy and light: of one CPU.
inline constexpr int64_t load_window_ms = 200;
inline constexpr int64_t busy_above_permille = 600;
inline constexpr int64_t idle_below_permille = 400;
inline constexpr int64_t heavy_above_permille = 500;
inline constexpr int64_t light_below_permille = 300;
// How often a fan-out by thread reads its consumers' homes again (a consumer's transport
// binds its thread once, when its first address or connection arrives).
inline constexpr int64_t thread_homes_refresh_ms = 100;

// ---- consumer -------------------------------------------------------------------------------
// Sender reports, scores, the retransmission budget and a keyframe asked again: once a
// second.
inline constexpr auto consumer_report_interval = std::chrono::milliseconds(1000);
// Retransmissions may take at most 1/rtx_budget_divisor of what the stream sends as media,
// and at least rtx_budget_min_bps: on a thin link, resending what the link dropped must not
// crowd out new media. Half, not less: behind a link that reorders, libwebrtc asks for
// every packet that comes late (four times the NACKs of the same loss in order), and a
// quarter refused a third of them, real losses among them (docs/performance.md, "Under an
// impaired link").
inline constexpr uint64_t rtx_budget_divisor = 2;
inline constexpr uint64_t rtx_budget_min_bps = 32'000;
// At most this much of the pacing rate waits in a consumer's pacing queue. Beyond, the
// estimate is behind what is being sent (its allocation comes down soon): holding more
// would only add delay, dropping would add loss, so the queue leaves at once.
inline constexpr int64_t max_paced_us = 1'000'000;

// ---- transport ------------------------------------------------------------------------------
// What leads the paced link's clock by less than this leaves at once (send_shared::
// claim_pacing), so ordinary frames never wait.
inline constexpr int64_t pacing_burst_us = 40'000;
// The transport-cc send log: past this many records the oldest half is dropped.
inline constexpr size_t max_send_log = 4096;
// The egress cap of fault injection: a drop-tail queue of at most this much of its rate.
inline constexpr int64_t max_egress_queue_us = 250'000;
// The bandwidth feedback's fallback (start_media_tick), at the ticker's resolution: feedback
// due during a pause in arrivals (the recorder's interval is 50 ms) waits up to this much
// longer; libwebrtc's own receivers send theirs every 50 to 250 ms.
inline constexpr auto media_tick_interval = std::chrono::milliseconds(100);
// DTLS datagrams kept until connect-transport.
inline constexpr size_t max_early_dtls = 8;
// A transport's counters to the node's totals.
inline constexpr auto totals_interval = std::chrono::seconds(1);
// usrsctp's timer wheel is global: one transport at a time drives it (every
// sctp_tick_interval); the others only check every sctp_standby_interval that someone
// does, and take over when the driver has been silent for sctp_takeover_ms (it closed, or
// its actor is stuck).
inline constexpr auto sctp_tick_interval = std::chrono::milliseconds(50);
inline constexpr auto sctp_standby_interval = std::chrono::milliseconds(1000);
inline constexpr int64_t sctp_takeover_ms = 300;

} // namespace chorus::actors::tuning
