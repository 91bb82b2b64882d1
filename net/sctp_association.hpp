// One SCTP association (RFC 4960) over DTLS for WebRTC data channels (RFC 8831), on
// usrsctp in its connection-less mode (AF_CONN). Pure: SCTP packets (DTLS application
// data) go in; SCTP packets to hand to DTLS, received messages, stream closes and state
// changes come out. No sockets, no threads of usrsctp: the process calls
// usrsctp_init_nothreads once, and sctp_advance_timers() drives usrsctp's (global) timer
// wheel from whichever owner's timer is due.
//
// usrsctp is global state and calls back synchronously on the calling thread. Output
// produced while this association's owner is inside one of its calls is collected without
// a lock and returned by that call. Output produced elsewhere (a retransmission timer run
// by another owner's sctp_advance_timers()) goes to a locked side queue, and the owner's
// `wakeup` is called so that it comes back and takes it (take_pending()).
//
// DCEP (RFC 8832): an incoming DATA_CHANNEL_OPEN is answered with DATA_CHANNEL_ACK and
// reported (opened); send_dcep_open() opens a channel towards the peer.
#pragma once

#include "common/result.hpp"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace chorus::net {

// Payload protocol identifiers of WebRTC (RFC 8831 §8, IANA).
enum class sctp_ppid : uint32_t {
  dcep = 50,
  string = 51,
  binary_partial = 52, // deprecated
  binary = 53,
  string_partial = 54, // deprecated
  string_empty = 56,
  binary_empty = 57,
};

// Partial reliability (RFC 3758, RFC 7496) as a data channel asks for it.
enum class sctp_reliability : uint8_t { reliable, max_retransmits, max_packet_lifetime };

struct sctp_stream_options {
  bool ordered = true;
  sctp_reliability reliability = sctp_reliability::reliable;
  uint32_t reliability_value = 0; // retransmissions or milliseconds
};

// ---- DCEP (RFC 8832 §5) ----------------------------------------------------------------
//  0                   1                   2                   3
//  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |  Message Type |  Channel Type |            Priority           |
// |                    Reliability Parameter                      |
// |         Label Length          |       Protocol Length         |
// |                Label ...      |        Protocol ...           |
inline constexpr uint8_t dcep_open_type = 0x03;
inline constexpr uint8_t dcep_ack_type = 0x02;

struct dcep_open {
  sctp_stream_options options;
  uint16_t priority = 0;
  std::string label;
  std::string protocol;
};

enum class dcep_error : uint8_t { truncated, unknown_type, bad_channel_type, length_mismatch };
std::string_view to_string(dcep_error e) noexcept;

value_or_error<dcep_open, dcep_error> parse_dcep_open(std::span<const uint8_t> bytes);
std::vector<uint8_t> build_dcep_open(const dcep_open& open);

// ---- the association ---------------------------------------------------------------------

struct sctp_options {
  uint16_t port = 5000;          // local and remote SCTP port (RFC 8841: both sides 5000)
  uint16_t os = 1024;            // outgoing streams we ask for
  uint16_t mis = 1024;           // incoming streams we accept
  size_t max_message_size = 262'144; // larger messages are refused (send) or dropped (receive)
  size_t mtu = 1'100;            // largest SCTP packet (it must fit one DTLS record)
  size_t send_buffer = 1'048'576; // usrsctp's send buffer: beyond it sends are refused
  std::function<void()> wakeup;  // called (from any thread) when take_pending() has output
};

enum class sctp_state : uint8_t { new_, connecting, connected, closed, failed };
std::string_view to_string(sctp_state s) noexcept;

enum class sctp_error : uint8_t {
  none,
  not_connected,
  too_large,     // over max_message_size
  buffer_full,   // usrsctp's send buffer is full (a slow receiver)
  bad_stream,    // stream id not below the negotiated outgoing streams
  send_failed,   // any other usrsctp refusal
};
std::string_view to_string(sctp_error e) noexcept;

struct sctp_message {
  uint16_t stream = 0;
  uint32_t ppid = 0;
  std::vector<uint8_t> data; // for the *_empty PPIDs: empty
};

struct sctp_output {
  std::vector<std::vector<uint8_t>> packets; // SCTP packets for DTLS, in order
  std::vector<sctp_message> messages;        // received (DCEP handled inside)
  std::vector<std::pair<uint16_t, dcep_open>> opened; // DCEP opens received (and acked)
  std::vector<uint16_t> streams_closed;      // incoming streams the peer reset
  sctp_state state = sctp_state::new_;
  bool state_changed = false;
  sctp_error refused = sctp_error::none; // for send(): why it was refused
};

struct sctp_counters {
  uint64_t packets_in = 0, bytes_in = 0, packets_out = 0, bytes_out = 0;
  uint64_t messages_in = 0, message_bytes_in = 0, messages_out = 0, message_bytes_out = 0;
  uint64_t dropped_too_large = 0; // received messages over max_message_size
  uint64_t refused_out = 0;       // send() refusals
  uint64_t dcep_in = 0, dcep_malformed = 0;
  uint64_t dropped_malformed = 0; // packets failing sctp_packet_well_formed
};

// The chunk and INIT / INIT ACK parameter framing of one SCTP packet (RFC 9260 3.2, 3.2.1):
// every chunk and every parameter at least its 4-byte header long and inside what holds
// it. Debian's usrsctp 0.9.5 loops for ever on an INIT parameter of length 0
// (sctp_send_initiate_ack -> sctp_get_next_param; found by tests/fuzz/fuzz_sctp), so
// packets that fail this never reach it.
bool sctp_packet_well_formed(std::span<const uint8_t> packet) noexcept;

class sctp_association {
public:
  static result<std::unique_ptr<sctp_association>> create(sctp_options options);
  ~sctp_association();
  sctp_association(const sctp_association&) = delete;
  sctp_association& operator=(const sctp_association&) = delete;

  // Sends INIT (both WebRTC ends connect; SCTP resolves the collision). new -> connecting.
  sctp_output connect();
  // One SCTP packet from DTLS.
  sctp_output handle_packet(std::span<const uint8_t> packet);
  // One message on `stream` with `ppid` (string/binary; empty payloads use the *_empty
  // PPIDs by themselves).
  sctp_output send(uint16_t stream, sctp_ppid ppid, std::span<const uint8_t> data,
                   const sctp_stream_options& options);
  // DATA_CHANNEL_OPEN on `stream` (the ACK comes back as a message of PPID 50, consumed).
  sctp_output send_dcep_open(uint16_t stream, const dcep_open& open);
  // Resets our outgoing `stream` (RFC 6525): the peer's data channel closes.
  sctp_output close_stream(uint16_t stream);
  // ABORT-free shutdown; -> closed.
  sctp_output close();
  // Output produced outside this owner's calls (timers run by another owner).
  sctp_output take_pending();

  // A stream id that was closed (reset) is handed out again: it may be reset anew.
  void forget_stream(uint16_t stream) noexcept;
  sctp_state state() const noexcept;
  uint16_t outgoing_streams() const noexcept; // negotiated (0 before connected)
  uint16_t incoming_streams() const noexcept;
  const sctp_counters& counters() const noexcept;
  const sctp_options& options() const noexcept;

  struct impl; // public for usrsctp's C callbacks in the .cpp
private:
  explicit sctp_association(std::unique_ptr<impl> p) noexcept;
  std::unique_ptr<impl> impl_;
};

// Runs usrsctp's timers up to `now_ms` (a monotonic clock shared by all callers): the
// elapsed time is measured from the last call by anyone, so many owners calling it do not
// speed the clock up. Cheap when called often (does nothing within 10 ms of the last run).
void sctp_advance_timers(uint64_t now_ms);

// Whether a DTLS application data record is an SCTP packet (12-byte common header).
bool looks_like_sctp(std::span<const uint8_t> bytes) noexcept;

} // namespace chorus::net
