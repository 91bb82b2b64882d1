// One simulated participant: a WebSocket in the seed 001 JSON dialect, a send transport
// with an audio and a video producer if it publishes, a receive transport with a consumer
// per remote producer if it subscribes; synthetic media out, browser-like RTCP back.
//
// Setup steps block (through the worker's client_driver, so every other transport of the
// thread keeps running) and are bounded by a deadline. The media phase is driven by
// service(), called by the worker's loop; packets arrive through the transports' media
// handlers while the worker polls its transport_set. Not thread-safe: one worker owns it.
#pragma once

#include "bench/client/client_driver.hpp"
#include "bench/load/class_activity.hpp"
#include "bench/load/media.hpp"
#include "bench/load/receive_side.hpp"
#include "bench/load/receiver.hpp"
#include "common/result.hpp"

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace chorus::bench {

// What the router's capabilities say that the generator needs.
struct router_info {
  uint8_t opus_pt = 0;
  uint32_t opus_clock_rate = 48000;
  uint32_t opus_channels = 2;
  uint8_t vp8_pt = 0;
  uint8_t mid_audio = 0, mid_video = 0;           // header extension ids (0: none)
  uint8_t tcc_audio = 0, tcc_video = 0;
  std::string consume_capabilities;               // rtpCapabilities for consume (JSON)
};
result<router_info> parse_router_capabilities(const std::string& json);

// Monotonic counters of one worker (summed over its participants); the bench reports the
// difference between two snapshots.
struct totals {
  // received (subscribers)
  uint64_t rx_packets = 0, rx_bytes = 0;
  uint64_t rx_audio_packets = 0, rx_audio_bytes = 0;
  uint64_t rx_video_packets = 0, rx_video_bytes = 0;
  uint64_t rx_rtx = 0, rx_late = 0, rx_duplicates = 0, rx_keyframes = 0, rx_bad_stamp = 0;
  uint64_t rx_app_stamped = 0; // arrival time read by the generator (no kernel stamp)
  uint64_t expected = 0, unique = 0;
  uint64_t nack_packets = 0, nack_seqs = 0, plis_sent = 0, rr_sent = 0, sr_received = 0;
  // sent (publishers)
  uint64_t tx_packets = 0, tx_bytes = 0;
  uint64_t tx_audio_packets = 0, tx_video_packets = 0;
  uint64_t tx_frames = 0, tx_keyframes = 0, tx_retransmissions = 0;
  uint64_t nacks_received = 0, keyframe_requests_received = 0, tx_failed = 0;
  // simulcast (--simulcast): video packets sent per encoding (lowest first), delivered per
  // encoding (the tag in the payload, decrypted receivers only), and delivered packets of
  // an encoding other than the one the receiver asked for
  std::array<uint64_t, max_simulcast_encodings> tx_encoding_packets{};
  std::array<uint64_t, max_simulcast_encodings> rx_encoding_packets{};
  uint64_t rx_off_target = 0;

  totals& operator+=(const totals& o) noexcept;
  totals operator-(const totals& o) const noexcept;
};

// Instants of a subscriber's setup (mono_us; 0: not reached), read by the storm scenario.
struct setup_marks {
  uint64_t start_us = 0;       // connect() began
  uint64_t connected_us = 0;   // WebSocket open, joined, capabilities loaded
  uint64_t transport_us = 0;   // receive transport connected (ICE + DTLS)
  uint64_t consumed_us = 0;    // every producer consumed and resumed
  uint64_t first_audio_us = 0, first_video_us = 0; // first RTP packet of each kind
};

// What the server says about one simulcast receiver (read after the measured window with
// get-transport-stats and get-consumer-stats): the feedback its receive transport got, the
// send-side estimate and the layer allocation there, and its video consumer's layers.
struct server_view {
  std::string peer;
  bool low = false;                 // asked for spatial layer 0
  std::string error;                // empty when read
  uint64_t transport_cc_in = 0, remb_in = 0, receiver_reports = 0;
  uint64_t bwe_feedbacks = 0, bwe_target_bps = 0;
  uint64_t alloc_budget_bps = 0;    // 0: no estimate, nothing capped
  uint64_t alloc_desired_bps = 0;
  int preferred_spatial = -1, current_spatial = -1, current_temporal = -1;
  int allocated_spatial = -1;       // -1: the allocation caps nothing
};

// What a worker shares with its participants.
struct worker_context {
  client::client_driver* driver = nullptr;
  std::shared_ptr<const net::dtls_context> dtls;
  std::optional<router_info> router; // learned from the first get-rtp-capabilities
  std::string url_base;              // ws://HOST:PORT
  video_config video;
  bool simulcast = false; // publishers send simulcast_ladder(video)
  bool receiver_gro = false; // receive transports take segmented messages whole (UDP_GRO)
  uint32_t audio_bytes = 100;
  latency_histogram* latency = nullptr; // set while the measured window is open (video)
  latency_histogram* audio_latency = nullptr; // ... the audio streams' samples
  latency_histogram* keyframe_latency = nullptr; // ... video keyframes' (also in `latency`)
  bool verbose = false;
  uint32_t worker_index = 0;
  // Counted once per subscriber when its first audio and its first video have arrived.
  std::atomic<uint32_t>* first_media = nullptr;
};

class participant {
public:
  // expected_consumers: consume_all() fails with fewer; any_consumers: it takes whatever
  // the room has (the soak, where publishers come and go).
  static constexpr uint32_t any_consumers = UINT32_MAX;
  participant(std::string peer_id, std::string room, bool publishes, bool subscribes,
              uint32_t expected_consumers);
  participant(const participant&) = delete;
  participant& operator=(const participant&) = delete;
  ~participant();

  const std::string& peer_id() const noexcept { return peer_; }
  // Outside the decrypted sample (--decrypt-sample): media payloads stay encrypted.
  void set_sampled(bool sampled) noexcept { receive_.set_sampled(sampled); }
  // The server (node) this participant connects to, ws://HOST:PORT; "": the worker's.
  void set_url(std::string url) { url_ = std::move(url); }
  // The role it joins with (`role` in the socket URL; auth.mode none); "": the server's.
  void set_role(std::string role) { role_ = std::move(role); }
  // The class's activity (--chat-per-s, --poll): where a subscriber records what arrives,
  // and the option it votes for.
  void set_activity(class_activity_figures* figures, uint32_t option) noexcept {
    activity_ = figures;
    vote_option_ = option;
  }
  // The teacher's side of the class's activity: the chat messages due by `now_us`
  // (`chat_per_s` a second) and, once, the poll (with `poll`).
  void class_tick(uint64_t now_us, double chat_per_s, bool poll);
  // Asks for spatial layer 0 of every simulcast producer it consumes (--simulcast-low).
  void set_prefers_low_layer(bool low) noexcept { prefers_low_ = low; }
  bool prefers_low_layer() const noexcept { return prefers_low_; }
  bool sampled() const noexcept { return receive_.sampled(); }
  bool publishes() const noexcept { return publishes_; }
  bool subscribes() const noexcept { return subscribes_; }
  bool failed() const noexcept { return !error_.empty(); }
  const std::string& error() const noexcept { return error_; }
  std::size_t consumers() const noexcept { return receive_.streams().size(); }
  uint32_t expected_consumers() const noexcept { return expected_consumers_; }
  // How the consumers were found: by a producer id from new-producer, or by consume without
  // producerId (seed 001: the oldest producer not consumed yet).
  uint32_t consumed_by_id() const noexcept { return consumed_by_id_; }
  uint32_t consumed_oldest() const noexcept { return consumed_oldest_; }
  const setup_marks& marks() const noexcept { return marks_; }

  // ---- setup (blocking, bounded) ----------------------------------------------------------
  // WebSocket + get-rtp-capabilities (once per worker, the others reuse the answer).
  bool connect(worker_context& w, uint64_t deadline_ms);
  // Send transport, then produce audio and video.
  bool publish(worker_context& w, uint64_t deadline_ms);
  // Receive transport (ICE, DTLS connected).
  bool open_receive(worker_context& w, uint64_t deadline_ms);
  // Consume every other producer of the room, resume each (after open_receive).
  bool consume_all(worker_context& w, uint64_t deadline_ms);

  // ---- media phase --------------------------------------------------------------------------
  // Media sources start at start_us (publishers).
  void start_media(worker_context& w, uint64_t start_us);
  // Sends due media and RTCP; returns when it is next due.
  uint64_t service(worker_context& w, uint64_t now_us);
  void add_totals(totals& t) const noexcept;

  // The server's view of this receiver's first simulcast consumer (error set when there is
  // none or a request failed); blocking, bounded.
  server_view query_server_view(worker_context& w, uint64_t deadline_ms);
  bool has_simulcast_consumer() const noexcept;

  // Takes the events the server sent: new-producer ids are kept for subscribe(), the rest
  // (participant-list-update and others) is dropped.
  void drain_events();
  // DTLS close_notify on both transports, then the WebSocket closing handshake (bounded).
  void close(worker_context& w);
  // Destroys the connection objects (after close(); before the worker's loop goes away).
  void release() noexcept;
  // Gone without a word, as when a laptop lid closes: the transports leave the worker's
  // set and everything is destroyed without close_notify or a WebSocket closing handshake
  // (the server sees the TCP connection end).
  void cut(worker_context& w) noexcept;

private:
  std::string url_;
  std::string role_;
  class_activity_figures* activity_ = nullptr;
  uint32_t vote_option_ = 0;
  bool voted_ = false, tallied_ = false, poll_opened_ = false;
  uint64_t next_chat_us_ = 0;
  void send_and_forget(std::string_view type, const std::string& data_json);
  bool fail(std::string stage, std::string why);
  bool consume(worker_context& w, const std::string& producer_id, uint64_t deadline_ms,
               bool& none_left);
  void on_send_rtcp(std::span<const uint8_t> packet);
  void note_first_media(std::span<const uint8_t> packet, worker_context& w);
  struct video_encoding; // one encoding of the video producer (one, or three with simulcast)
  void send_video_frame(video_encoding& e, uint64_t now_us);
  // video: the encoding the packet belongs to; nullptr for audio.
  void send_packet(std::span<uint8_t> packet, std::size_t payload_offset, video_encoding* video);
  void send_sender_reports(uint64_t now_us);

  std::string peer_;
  std::string room_;
  bool publishes_;
  bool subscribes_;
  bool prefers_low_ = false;
  uint32_t expected_consumers_;
  std::string error_;
  std::string cname_;
  setup_marks marks_;

  std::unique_ptr<client::signaling_client> ws_;
  std::unique_ptr<client::webrtc_client_transport> send_;
  std::unique_ptr<client::webrtc_client_transport> recv_;

  // publishing
  struct video_encoding {
    video_encoding(const video_config& c, rtp_fields first, extension_ids ids, uint64_t start_us)
        : source(c, first, ids, "1", start_us) {}
    video_source source;
    send_history history{1024};
    uint64_t sent = 0, octets = 0; // for its sender reports
  };
  uint32_t audio_ssrc_ = 0;
  std::vector<uint32_t> video_ssrcs_; // lowest encoding first
  std::vector<video_config> video_configs_;
  std::optional<audio_source> audio_;
  std::vector<video_encoding> video_;
  std::optional<packet_pacer> pacer_; // video_config::pace_factor > 0; made at the first frame
  void release_paced(uint64_t now_us);
  send_history audio_history_{128};
  uint16_t transport_seq_ = 0;
  uint64_t next_sr_us_ = 0;
  uint64_t audio_sent_ = 0, audio_octets_ = 0;
  std::vector<uint8_t> buf_; // one packet being built

  // subscribing
  receive_side receive_;
  std::vector<std::string> consumed_producers_;
  std::vector<std::string> announced_producers_; // from new-producer events
  uint32_t consumed_by_id_ = 0, consumed_oldest_ = 0;
  std::vector<uint8_t> rtcp_buf_; // sender reports

  totals own_; // sender-side counters (the receive side counts its own)
};

} // namespace chorus::bench
