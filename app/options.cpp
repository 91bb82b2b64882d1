#include "app/options.hpp"

#include "app/option_kinds.hpp"
#include "common/log.hpp"
#include "common/text.hpp"
#include "protocol/jwt.hpp"
#include "protocol/rtp_json.hpp"

#include <algorithm>
#include <initializer_list>

namespace chorus::app {

namespace {

using namespace option_kind;

option listen_option() {
  return formatted_option(
    "listen", "--listen", "HOST:PORT",
    "the signaling HTTP/WebSocket address (port 0 picks a free port)",
    "HOST:PORT with an IP address, e.g. 127.0.0.1:8080",
    [](std::string_view v, config& c) { return parse_host_port(v, c.edge.host, c.edge.port); },
    [](const config& c) {
      const bool v6 = c.edge.host.find(':') != std::string::npos;
      return quoted((v6 ? "[" + c.edge.host + "]" : c.edge.host) + ":" +
                    std::to_string(c.edge.port));
    });
}

option ports_option() {
  return formatted_option(
    "rtc.ports", "--rtc-ports", "MIN-MAX",
    "the UDP/TCP port range for media, a port pair per transport",
    "MIN-MAX with 1024 <= MIN <= MAX <= 65535",
    [](std::string_view v, config& c) { return parse_port_range(v, c.media_io.min_port, c.media_io.max_port); },
    [](const config& c) {
      return quoted(std::to_string(c.media_io.min_port) + "-" + std::to_string(c.media_io.max_port));
    });
}

option single_port_option() {
  auto o = uint_option<uint16_t>(
    "rtc.singlePort", "--rtc-single-port", "PORT",
    "one UDP and one TCP port shared by every transport, told apart by ICE username, then by "
    "address (0: off, a port pair per transport from rtc.ports)",
    CHORUS_FIELD(rtc.single_port), 0, 65535);
  o.expects = "a PORT from 1024 to 65535 (0: off)";
  o.from_flag = [](std::string_view v, config& c) -> std::string {
    uint32_t port = 0;
    if (!parse_u32(v, port) || (port != 0 && port < 1024) || port > 65535)
      return "expects a PORT from 1024 to 65535 (0: off)";
    c.rtc.single_port = static_cast<uint16_t>(port);
    return {};
  };
  return o;
}

std::string origins_problem(const std::vector<std::string>& list) { return invalid_origin(list); }

std::string turn_urls_problem(const std::vector<std::string>& list) {
  for (const auto& url : list)
    if (!(url.starts_with("turn:") || url.starts_with("turns:")) || url.size() > 512)
      return "'" + url + "' is not a turn: or turns: URL";
  return {};
}

option origins_option(std::string_view key, std::string_view flag, std::string_view help) {
  return list_option(key, flag, "LIST", help, CHORUS_FIELD(edge.allowed_origins),
                     "an array of origins or \"*\"", "ORIGIN,ORIGIN,... or *", origins_problem);
}

option roles_option() {
  option o = blank("auth.roles", {}, {},
           "role -> [permission, ...]: a role named replaces its default, a new name adds a "
           "role (permissions: publish-audio, publish-video, publish-screen, subscribe, chat, "
           "moderate, record)");
  o.from_json = [](const json_in& in, config& c) -> std::string {
    auto& obj = in.value;
    if (!obj.IsObject())
      return "must be an object of role -> [permission, ...]";
    for (auto& m : obj.GetObject()) {
      std::string role{m.name.GetString(), m.name.GetStringLength()};
      if (role.starts_with("//"))
        continue;
      std::string name = "." + role.substr(0, 64); // a sub-path: auth.roles.NAME
      if (!text::valid_label(role, 64))
        return name + ": a role name is 1 to 64 printable bytes";
      if (!m.value.IsArray())
        return name + ": must be an array of permission names";
      std::vector<std::string> names;
      for (auto& v : m.value.GetArray()) {
        if (!v.IsString())
          return name + ": must be an array of permission names";
        names.emplace_back(v.GetString(), v.GetStringLength());
      }
      auto set = protocol::parse_permissions(names);
      if (!set)
        return name + ": " + set.error();
      c.auth.roles.set(std::move(role), *set);
    }
    return {};
  };
  o.show = [](const config& c) {
    std::string out;
    for (auto& role : c.auth.roles.names())
      out += (out.empty() ? "" : "; ") + role + ": " + c.auth.roles.find(role)->to_string();
    return out;
  };
  return o;
}

option codecs_option() {
  option o = blank("mediaCodecs", {}, {},
           "the router's codecs (mediasoup's RtpCodecCapability without payload types; "
           "audio/opus, video/VP8, video/VP9, video/H264, video/AV1, audio/red: Opus with redundancy "
           "for receivers that list it, needs audio/opus); payload types, RTCP feedback and an "
           "rtx codec per video codec are assigned");
  o.from_json = [](const json_in& in, config& c) -> std::string {
    if (!in.value.IsArray())
      return "must be an array";
    std::vector<rtp::media_codec_config> codecs;
    size_t i = 0;
    for (auto& v : in.value.GetArray()) {
      // A sub-path: mediaCodecs[i].
      auto codec = protocol::parse_media_codec(v, "[" + std::to_string(i++) + "]");
      if (!codec)
        return codec.error();
      codecs.push_back(std::move(*codec));
    }
    c.media_codecs = std::move(codecs);
    return {};
  };
  o.show = [](const config& c) {
    std::string out;
    for (auto& codec : c.media_codecs) {
      out += (out.empty() ? "" : ", ") + codec.mime_type;
      for (auto& p : codec.parameters)
        out += " " + p.key + "=" + p.value;
    }
    return out;
  };
  return o;
}

option log_level_option() {
  auto o = choice_option("logLevel", "--log-level", "LEVEL",
                         "trace, debug, info, warn, error or off", CHORUS_FIELD(log_level),
                         {"trace", "debug", "info", "warn", "error", "off"});
  o.expects = "one of trace, debug, info, warn, error, off";
  o.from_flag = [](std::string_view v, config& c) -> std::string {
    log::level lvl;
    if (!log::parse_level(v, lvl))
      return "expects one of trace, debug, info, warn, error, off";
    c.log_level = std::string(v);
    return {};
  };
  return o;
}

std::vector<option> make_options() {
  const auto ms = [](uint32_t min, uint32_t max) { return "MS " + range_text(min, max); };
  std::vector<option> o;
  // Top level.
  o.push_back(listen_option());
  o.push_back(log_level_option());
  o.push_back(choice_option(
    "logFormat", "--log-format", "text|json",
    "text, or json: one JSON object per line with the room, peer, transport, producer and "
    "consumer ids as fields",
    CHORUS_FIELD(log_format), {"text", "json"}));
  o.push_back(codecs_option());
  // rtc: the media sockets.
  o.push_back(string_option("rtc.ip", "--rtc-ip", "IP", "the address the media sockets listen on",
                            CHORUS_FIELD(media_io.listen_ip),
                            [](std::string_view v) { return valid_ip(std::string(v)); },
                            "an IPv4 or IPv6 address"));
  o.push_back(string_option(
    "rtc.announcedIp", "--announced-ip", "IP",
    "the address announced in ICE candidates, e.g. the public address behind NAT (empty: rtc.ip)",
    CHORUS_FIELD(announced_ip),
    [](std::string_view v) { return !v.empty() && v.size() <= 253; },
    "an IP address or host name"));
  o.push_back(ports_option());
  o.push_back(single_port_option());
  o.push_back(uint_option<uint32_t>(
    "rtc.ioThreads", "--io-threads", "N",
    "media I/O threads, each with its own epoll set, sockets and send outbox; single port: "
    "each thread has its own socket on the port (SO_REUSEPORT) and a transport is read by "
    "one thread (0: one per usable CPU)",
    CHORUS_FIELD(rtc.io_threads), 0, 64, "a COUNT from 0 (one per usable CPU) to 64"));
  o.push_back(uint_option<std::size_t>(
    "rtc.roomTransportsPerThread", "--room-transports-per-thread", "N",
    "with several I/O threads: a room's transports go to the threads it already uses until "
    "it has N there, then to the least loaded thread, so that a room forwards on one core "
    "while it fits (0: each transport to the least loaded thread, or single port to the "
    "thread the kernel steers its first address to)",
    CHORUS_FIELD(media_io.group_per_thread), 0, 1000000, "a COUNT from 0 to 1000000"));
  o.push_back(bool_option(
    "rtc.threadFanout", "--thread-fanout", bool_flag::on_off,
    "with several I/O threads: a fan-out too large for one thread's lanes goes to the I/O "
    "threads of the consumers' transports, one batch per thread, where their lanes are "
    "entered; off: a message per consumer, taken by the scheduler's workers",
    CHORUS_FIELD(rtc.thread_fanout)));
  o.push_back(uint_option<uint32_t>(
    "rtc.playoutDelayLimitMs", "--playout-delay-limit-ms", "MS",
    "a receiver that loses packets is asked (the playout-delay RTP header extension) to hold "
    "its video long enough for a repair, about its round trip plus 100 ms, at most this "
    "long (0: never asked)",
    CHORUS_FIELD(rtc.playout_delay_limit_ms), 0, 2000));
  o.push_back(bool_option(
    "rtc.batchSends", "--batch-sends", bool_flag::on_off,
    "many consumers' datagrams leave together: single port, up to 64 per sendmmsg; port "
    "range, up to 64 per io_uring submission where the kernel allows it",
    CHORUS_FIELD(media_io.batch_sends)));
  o.push_back(bool_option(
    "rtc.udpSegmentation", "--udp-segmentation", bool_flag::on_off,
    "with batched sends: a consumer's run of equal-size datagrams to one receiver leaves as one "
    "segmented message (UDP GSO)",
    CHORUS_FIELD(media_io.udp_segmentation)));
  o.push_back(choice_option(
    "rtc.gcm", "--gcm", "native|openssl",
    "SRTP's AES-GCM on the CPU's AES instructions where it has them (native), or through "
    "OpenSSL's EVP interface",
    CHORUS_FIELD(rtc.gcm), {"native", "openssl"}));
  o.push_back(uint_option<uint32_t>(
    "rtc.iceConsentTimeoutMs", {}, {},
    "no valid ICE check for this long: the transport is disconnected (RFC 7675)",
    CHORUS_FIELD(rtc.ice_consent_timeout_ms), 1000, 3600000));
  o.push_back(uint_option<uint32_t>("rtc.iceDisconnectedTimeoutMs", {}, {},
                                    "disconnected for this long: the transport is closed",
                                    CHORUS_FIELD(rtc.ice_disconnected_timeout_ms), 0, 3600000));
  o.push_back(uint_option<uint32_t>("rtc.dtlsHandshakeTimeoutMs", {}, {},
                                    "a DTLS handshake not finished after this long fails the "
                                    "transport",
                                    CHORUS_FIELD(rtc.dtls_handshake_timeout_ms), 1000, 600000));
  o.push_back(bool_option(
    "rtc.tcpOnSignalingPort", "--rtc-tcp-on-signaling-port", bool_flag::on_off,
    "a passive ICE-TCP candidate on the signaling port too (RFC 4571 framing, told from "
    "HTTP and TLS by its first bytes), for networks that pass TCP to 443 only",
    CHORUS_FIELD(rtc.tcp_on_signaling_port)));
  o.push_back(uint_option<uint32_t>(
    "rtc.tcpBindTimeoutMs", {}, {},
    "ICE-TCP: an accepted connection whose first STUN binding request has not arrived after "
    "this long is closed",
    CHORUS_FIELD(media_io.tcp_bind_timeout_ms), 100, 600000));
  o.push_back(uint_option<uint32_t>(
    "rtc.stunErrorRate", {}, {},
    "STUN error answers per transport and second (0: no bound); requests beyond are dropped "
    "and counted",
    CHORUS_FIELD(rtc.stun_error_rate), 0, 1000000));
  o.push_back(file_string("rtc.dtlsCertificateFile",
                          "PEM certificate for DTLS, with rtc.dtlsPrivateKeyFile (empty: a fresh "
                          "one at every start)",
                          CHORUS_FIELD(rtc.dtls_certificate_file)));
  o.push_back(file_string("rtc.dtlsPrivateKeyFile", "the PEM private key of rtc.dtlsCertificateFile",
                          CHORUS_FIELD(rtc.dtls_private_key_file)));
  o.push_back(uint_option<uint32_t>(
    "rtc.dropRtpPercent", "--drop-rtp-percent", "N",
    "fault injection for tests: drop N % of the RTP packets every transport receives, like "
    "network loss (0: off)",
    CHORUS_FIELD(rtc.drop_rtp_percent), 0, 50, "a PERCENT from 0 to 50"));
  {
    auto f = bool_option("rtc.faultInjection", "--fault-injection", bool_flag::set_true,
                         "tests only: allow set-transport-egress-cap (a per-transport cap on "
                         "what the server sends)",
                         CHORUS_FIELD(rtc.fault_injection));
    f.unlisted = true;
    o.push_back(std::move(f));
  }
  // signaling: the HTTP/WebSocket edge.
  o.push_back(uint_option<uint32_t>(
    "signaling.threads", "--edge-threads", "N",
    "threads running the HTTP/WebSocket edge, each connection on one at a time (0: one per "
    "four usable CPUs, at least one)",
    CHORUS_FIELD(signaling.threads), 0, 64, "a COUNT from 0 (automatic) to 64"));
  o.push_back(uint_option<std::size_t>("signaling.maxMessageBytes", {}, {},
                                    "the largest WebSocket message; a larger one closes the "
                                    "connection (1009)",
                                    CHORUS_FIELD(edge.max_message_bytes), 1024, 16 << 20));
  o.push_back(uint_option<std::size_t>("signaling.maxQueuedBytes", {}, {},
                                    "outgoing bytes queued per connection before the client "
                                    "counts as a slow reader and is disconnected",
                                    CHORUS_FIELD(edge.max_queued_bytes), 4096, 1u << 30));
  o.push_back(uint_option<std::chrono::milliseconds>("signaling.idleTimeoutMs", {}, {},
                                    "a connection is pinged after half of this without traffic "
                                    "and closed after all of it",
                                    CHORUS_FIELD(edge.idle_timeout), 100, 3600000));
  o.push_back(uint_option<std::chrono::milliseconds>("signaling.handshakeTimeoutMs", {}, {},
                                    "time for the HTTP request, the WebSocket handshake and the "
                                    "closing handshake",
                                    CHORUS_FIELD(edge.handshake_timeout), 100, 600000));
  o.push_back(uint_option<std::chrono::milliseconds>("signaling.messageTimeoutMs", {}, {},
                                    "a WebSocket message begun must be complete within this "
                                    "(0: no bound; else at least 100)",
                                    CHORUS_FIELD(edge.message_timeout), 0, 600000));
  o.push_back(uint_option<std::size_t>("signaling.maxConnections", {}, {},
                                    "open HTTP/WebSocket connections; further ones are refused",
                                    CHORUS_FIELD(edge.max_connections), 1, 1000000));
  o.push_back(uint_option<uint32_t>("signaling.maxRequestsInFlight", {}, {},
                                    "requests per connection awaiting an answer; more get "
                                    "limit-exceeded",
                                    CHORUS_FIELD(signaling.max_requests_in_flight), 1, 4096));
  o.push_back(uint_option<uint32_t>("signaling.pingIntervalMs", {}, {},
                                    "Engine.IO: how often every session is pinged (also bounds "
                                    "a held long-polling GET)",
                                    CHORUS_FIELD(edge.engineio.ping_interval_ms), 100, 3600000));
  o.push_back(uint_option<uint32_t>("signaling.pingTimeoutMs", {}, {},
                                    "Engine.IO: a session without a pong this long after a ping "
                                    "is closed",
                                    CHORUS_FIELD(edge.engineio.ping_timeout_ms), 100, 3600000));
  o.push_back(uint_option<uint32_t>("signaling.maxPayloadBytes", {}, {},
                                    "Engine.IO: the largest long-polling POST body (413 beyond)",
                                    CHORUS_FIELD(edge.engineio.max_payload), 1024, 16 << 20));
  o.push_back(origins_option("signaling.allowedOrigins", "--allowed-origins",
                             "origins (https://host:port) whose pages may connect (WebSocket "
                             "and Engine.IO; others get 403), or \"*\"; empty: the server's "
                             "own origin and pages on localhost, 127.0.0.1 and [::1]"));
  {
    auto old = origins_option("signaling.corsOrigins", {}, "the old name of signaling.allowedOrigins");
    old.unlisted = true;
    o.push_back(std::move(old));
  }
  o.push_back(uint_option<std::size_t>(
    "signaling.maxConnectionsPerIp", "--max-connections-per-ip", "N",
    "open connections from one address; more get 429 (0: unlimited)",
    CHORUS_FIELD(edge.max_connections_per_ip), 0, 1000000,
    "a COUNT from 0 (unlimited) to 1000000"));
  o.push_back(string_option("signaling.tlsCertificateFile", "--tls-cert", "FILE",
                            "PEM certificate (chain): serve HTTPS and WSS only, with "
                            "signaling.tlsPrivateKeyFile (scripts/make-self-signed.sh makes a pair)",
                            CHORUS_FIELD(signaling.tls_certificate_file), not_empty,
                            "a PEM certificate FILE"));
  o.push_back(string_option("signaling.tlsPrivateKeyFile", "--tls-key", "FILE",
                            "the PEM private key of signaling.tlsCertificateFile",
                            CHORUS_FIELD(signaling.tls_private_key_file), not_empty,
                            "a PEM private key FILE"));
  o.push_back(string_option("signaling.defaultRoom", "--default-room", "ROOM",
                            "the room a connection joins implicitly when neither its request "
                            "nor its handshake names one",
                            CHORUS_FIELD(signaling.default_room), a_label,
                            "a ROOM id of 1 to 128 printable bytes"));
  o.push_back(uint_option<uint32_t>("signaling.requestRate", "--request-rate", "N",
                                    "requests per second per connection, sustained (0: no "
                                    "limit); excess gets rate-limited",
                                    CHORUS_FIELD(signaling.request_rate), 0, 1000000,
                                    "requests per second from 0 (no limit) to 1000000"));
  o.push_back(uint_option<uint32_t>("signaling.requestBurst", "--request-burst", "N",
                                    "requests a connection may send at once",
                                    CHORUS_FIELD(signaling.request_burst), 1, 1000000,
                                    "a COUNT from 1 to 1000000"));
  o.push_back(uint_option<uint32_t>("signaling.requestRefusalsToClose", {}, {},
                                    "a connection refused more often than this within "
                                    "signaling.requestRefusalWindowMs is closed (0: never)",
                                    CHORUS_FIELD(signaling.request_refusals_to_close), 0, 1000000));
  o.push_back(uint_option<uint32_t>("signaling.requestRefusalWindowMs", {}, {},
                                    "the window of signaling.requestRefusalsToClose",
                                    CHORUS_FIELD(signaling.request_refusal_window_ms), 100,
                                    3600000));
  // limits, classroom, sctp.
  o.push_back(uint_option<uint32_t>("limits.maxRooms", {}, {},
                                    "rooms on this node; one more gets limit-exceeded",
                                    CHORUS_FIELD(limits.max_rooms), 1, 1000000));
  o.push_back(uint_option<uint32_t>("limits.maxPeersPerRoom", {}, {},
                                    "peers in one room; one more gets room-full",
                                    CHORUS_FIELD(limits.max_peers_per_room), 1, 100000));
  o.push_back(uint_option<uint32_t>("limits.maxPublishersPerRoom", {}, {},
                                    "participants with a producer in one room (0: no limit)",
                                    CHORUS_FIELD(limits.max_publishers_per_room), 0, 100000));
  o.push_back(uint_option<uint32_t>("rooms.rosterLimit", "--roster-limit", "N",
                                    "participants who may not publish that a room lists one "
                                    "by one; beyond it they are its audience, announced as a "
                                    "count (audience-update)",
                                    CHORUS_FIELD(limits.roster_limit), 0, 1000000));
  o.push_back(uint_option<uint32_t>("classroom.audioLevelsIntervalMs", {}, {},
                                    "the audio-levels event's interval (0: off; else at least 100)",
                                    CHORUS_FIELD(classroom.audio_levels_interval_ms), 0, 60000));
  o.push_back(uint_option<uint32_t>("classroom.chatMaxBytes", {}, {},
                                    "the longest chat message in bytes (UTF-8); longer ones are refused",
                                    CHORUS_FIELD(classroom.chat_max_bytes), 1, 65536));
  o.push_back(uint_option<uint32_t>("sctp.maxMessageSize", {}, {},
                                    "the largest data channel message in bytes",
                                    CHORUS_FIELD(sctp.max_message_size), 1024, 16777216));
  o.push_back(uint_option<uint32_t>("sctp.maxStreams", {}, {},
                                    "SCTP streams per direction at most",
                                    CHORUS_FIELD(sctp.max_streams), 1, 65535));
  o.push_back(uint_option<uint32_t>("sctp.sendBufferSize", {}, {},
                                    "bytes per transport in the SCTP send buffer, at least "
                                    "sctp.maxMessageSize; beyond it messages are dropped",
                                    CHORUS_FIELD(sctp.send_buffer_size), 65536, 268435456));
  // scheduler.
  o.push_back(choice_option("scheduler.policy", "--scheduler", "lean|sharing|stealing",
                            "the actor scheduler: lean (idle workers sleep, woken only when "
                            "there is work for two), sharing (CAF's: a wake-up per job) or "
                            "stealing (CAF's: idle workers poll)",
                            CHORUS_FIELD(scheduler.policy), {"lean", "sharing", "stealing"}));
  o.push_back(uint_option<uint32_t>("scheduler.threads", "--scheduler-threads", "N",
                                    "scheduler worker threads (0: max(2, usable CPUs))",
                                    CHORUS_FIELD(scheduler.threads), 0, 64,
                                    "a COUNT from 0 (automatic) to 64"));
  o.push_back(choice_option("scheduler.timers", "--scheduler-timers", "thread|io|caf",
                            "who runs the actors' timers under the lean scheduler: a clock "
                            "thread of Chorus's, the media I/O thread between its waits, or "
                            "CAF's clock",
                            CHORUS_FIELD(scheduler.timers), {"io", "thread", "caf"}));
  // cluster.
  o.push_back(string_option("cluster.nodeId", "--node-id", "NAME",
                            "this node's name in a cluster (empty: hostname:port)",
                            CHORUS_FIELD(cluster.node_id), a_label,
                            "a NAME of 1 to 128 printable bytes"));
  o.push_back(string_option("cluster.listen", "--cluster-listen", "HOST:PORT",
                            "join a cluster: where the other nodes reach this one (empty: no "
                            "cluster)",
                            CHORUS_FIELD(cluster.listen), not_empty,
                            "HOST:PORT with an IP address"));
  o.push_back(list_option("cluster.peers", "--cluster-peers", "LIST",
                          "HOST:PORT of nodes to join (the other members are learnt from them)",
                          CHORUS_FIELD(cluster.peers), "an array of \"HOST:PORT\"",
                          "HOST:PORT,HOST:PORT,...", nullptr));
  o.push_back(string_option("cluster.secret", "--cluster-secret", "S",
                            "the cluster's shared secret (16 bytes at least), required in a "
                            "cluster; never sent (nodes prove it with HMAC-SHA256)",
                            CHORUS_FIELD(cluster.secret), not_empty, "the shared SECRET"));
  o.push_back(string_option("cluster.secretFile", "--cluster-secret-file", "FILE",
                            "the secret from the first line of a file",
                            CHORUS_FIELD(cluster.secret_file), not_empty, "a FILE"));
  o.push_back(uint_option<uint32_t>("cluster.heartbeatIntervalMs", {}, {},
                                    "heartbeats (with the node's load) to every member this often",
                                    CHORUS_FIELD(cluster.heartbeat_interval_ms), 50, 60000));
  o.push_back(uint_option<uint32_t>("cluster.heartbeatTimeoutMs", "--cluster-heartbeat-timeout-ms",
                                    "MS",
                                    "a member silent this long counts as lost (longer than "
                                    "cluster.heartbeatIntervalMs)",
                                    CHORUS_FIELD(cluster.heartbeat_timeout_ms), 200, 600000,
                                    ms(200, 600000)));
  o.push_back(string_option("cluster.certFile", "--cluster-cert", "FILE",
                            "TLS between nodes: this node's PEM certificate, with "
                            "cluster.keyFile and cluster.caFile (scripts/make-cluster-certs.sh); "
                            "required off loopback unless cluster.insecure",
                            CHORUS_FIELD(cluster.cert_file), not_empty, "a PEM FILE"));
  o.push_back(string_option("cluster.keyFile", "--cluster-key", "FILE",
                            "the PEM private key of cluster.certFile",
                            CHORUS_FIELD(cluster.key_file), not_empty, "a PEM FILE"));
  o.push_back(string_option("cluster.caFile", "--cluster-ca", "FILE",
                            "the PEM CA every node's certificate must be signed by",
                            CHORUS_FIELD(cluster.ca_file), not_empty, "a PEM FILE"));
  o.push_back(bool_option("cluster.insecure", "--cluster-insecure", bool_flag::set_true,
                          "plain links between hosts anyway (only on a network that nothing but "
                          "the members reach)",
                          CHORUS_FIELD(cluster.insecure)));
  // turn.
  o.push_back(bool_option("turn.enabled", "--turn", bool_flag::set_true,
                          "run the TURN server inside Chorus (UDP and TCP on turn.udpPort), "
                          "relaying only to its own transports, and hand its URLs with a "
                          "credential per peer to every transport",
                          CHORUS_FIELD(turn.enabled)));
  o.push_back(uint_option<uint16_t>("turn.udpPort", "--turn-udp-port", "PORT",
                                    "the TURN server's port, UDP and TCP (0: any free one)",
                                    CHORUS_FIELD(turn.udp_port), 0, 65535,
                                    "a PORT from 0 to 65535"));
  o.push_back(file_string("turn.secret",
                          "the TURN REST secret credentials are made with (empty with "
                          "turn.enabled: a random one per start); prefer turn.secretFile",
                          CHORUS_FIELD(turn.secret)));
  o.push_back(string_option("turn.secretFile", "--turn-secret-file", "FILE",
                            "the TURN REST secret, the first line of a file (coturn's "
                            "static-auth-secret for turn.externalUrls)",
                            CHORUS_FIELD(turn.secret_file), not_empty, "a FILE"));
  o.push_back(string_option("turn.host", "--turn-host", "HOST",
                            "the host name or address in the TURN URLs handed out (empty: "
                            "rtc.announcedIp, else rtc.ip; for turns: the host the client "
                            "signaled to, never an address)",
                            CHORUS_FIELD(turn.host),
                            [](std::string_view v) { return !v.empty() && v.size() <= 253; },
                            "a HOST name or address"));
  o.push_back(list_option("turn.externalUrls", "--turn-external-urls", "LIST",
                          "hand out these TURN URLs (a coturn with use-auth-secret and the same "
                          "secret) instead of the built-in server's",
                          CHORUS_FIELD(turn.external_urls), "an array of \"turn:\" or \"turns:\" URLs",
                          "URL,URL,...", turn_urls_problem));
  o.push_back(choice_option("turn.iceTransportPolicy", "--turn-ice-transport-policy",
                            "all|relay",
                            "the iceTransportPolicy hint in transport replies (empty: none; "
                            "relay: clients use TURN only)",
                            CHORUS_FIELD(turn.ice_transport_policy), {"all", "relay"}));
  o.push_back(uint_option<uint32_t>("turn.relayRateLimitKbps", "--turn-relay-rate-limit-kbps",
                                    "KBPS",
                                    "the built-in server's cap on each allocation's relayed bit "
                                    "rate, each way; packets beyond are dropped (0: no cap)",
                                    CHORUS_FIELD(turn.relay_rate_kbps), 0, 10000000));
  o.push_back(bool_option(
    "turn.tlsOnSignalingPort", "--turn-tls-on-signaling-port", bool_flag::on_off,
    "the built-in server also takes TURN on the signaling port, inside its TLS (a turns: URL "
    "naming turn.host, else the host the client signaled to) and over plain TCP: one port, "
    "443, for networks that let nothing else out",
    CHORUS_FIELD(turn.tls_on_signaling_port)));
  // auth.
  o.push_back(choice_option("auth.mode", "--auth-mode", "none|jwt",
                            "none (peers name themselves) or jwt (a signed token is required "
                            "at connect; docs/operations.md, \"Tokens and roles\")",
                            CHORUS_FIELD(auth.mode), {"none", "jwt"}));
  o.push_back(string_option("auth.algorithm", "--auth-algorithm", "ALG",
                            "HS256, RS256 or ES256 (empty: after the key)",
                            CHORUS_FIELD(auth.algorithm),
                            [](std::string_view v) {
                              return protocol::parse_jwt_algorithm(v).has_value();
                            },
                            "HS256, RS256 or ES256"));
  o.push_back(file_string("auth.hs256Secret",
                          "jwt: the HS256 secret itself (32 bytes at least); prefer "
                          "auth.hs256SecretFile",
                          CHORUS_FIELD(auth.hs256_secret)));
  o.push_back(string_option("auth.hs256SecretFile", "--auth-hs256-secret-file", "FILE",
                            "jwt: the HS256 secret, the first line of a file",
                            CHORUS_FIELD(auth.hs256_secret_file), not_empty, "a FILE"));
  o.push_back(string_option("auth.publicKeyFile", "--auth-public-key-file", "FILE",
                            "jwt: the PEM public key (RS256: RSA; ES256: EC P-256)",
                            CHORUS_FIELD(auth.public_key_file), not_empty, "a FILE"));
  o.push_back(string_option("auth.issuer", "--auth-issuer", "I",
                            "jwt: the iss tokens must carry (empty: not checked)",
                            CHORUS_FIELD(auth.issuer), not_empty, "the ISSUER (iss)"));
  o.push_back(string_option("auth.audience", "--auth-audience", "A",
                            "jwt: the aud tokens must carry (empty: not checked)",
                            CHORUS_FIELD(auth.audience), not_empty, "the AUDIENCE (aud)"));
  o.push_back(uint_option<uint32_t>("auth.leewaySeconds", {}, {},
                                    "clock skew allowed on exp, nbf and iat",
                                    CHORUS_FIELD(auth.leeway_seconds), 0, 3600));
  o.push_back(string_option("auth.defaultRole", "--auth-default-role", "ROLE",
                            "the role of peers without one (empty: every permission in mode "
                            "none, viewer in mode jwt)",
                            CHORUS_FIELD(auth.default_role),
                            [](std::string_view v) { return text::valid_label(v, 64); },
                            "a ROLE (see auth.roles)"));
  o.push_back(roles_option());
  // storage, recording.
  o.push_back(string_option("storage.path", "--storage-path", "FILE",
                            "write the class record (rooms, attendance, chat, polls, "
                            "moderation) to this SQLite file, created on first use (empty: off)",
                            CHORUS_FIELD(storage.path), not_empty,
                            "the class record's SQLite FILE"));
  o.push_back(uint_option<uint32_t>("storage.flushIntervalMs", {}, {},
                                    "events wait at most this long before they are written",
                                    CHORUS_FIELD(storage.flush_interval_ms), 10, 60000));
  o.push_back(string_option("storage.url", "--storage-url", "URL",
                            "write the class record to PostgreSQL instead (one record for a "
                            "cluster): postgresql://USER@HOST:PORT/DB or a libpq string",
                            CHORUS_FIELD(storage.url), not_empty,
                            "a PostgreSQL URL (postgresql://USER@HOST:PORT/DB)"));
  o.push_back(file_string("recording.directory",
                          "where recordings are written (empty: recording off)",
                          CHORUS_FIELD(recording.directory)));
  o.push_back(bool_option("recording.autoStart", {}, bool_flag::none,
                          "record every room from its first producer",
                          CHORUS_FIELD(recording.auto_start)));
  o.push_back(file_string("recording.ffmpeg", "the ffmpeg binary (PATH is searched without a '/')",
                          CHORUS_FIELD(recording.ffmpeg)));
  o.push_back(uint_option<uint32_t>("recording.minFreeMb", {}, {},
                                    "free space below this: recording pauses (disk-full)",
                                    CHORUS_FIELD(recording.min_free_mb), 0, 10000000));
  o.push_back(uint_option<uint32_t>("recording.maxRestartBackoffMs", {}, {},
                                    "a crashed ffmpeg is restarted after 0.5 s, 1 s, 2 s ... up "
                                    "to this",
                                    CHORUS_FIELD(recording.max_restart_backoff_ms), 100, 600000));
  o.push_back(file_string("live.directory",
                          "where each room's live stream writes its HLS playlist and segments, "
                          "served at /live/ROOM/index.m3u8 (empty: live streaming off)",
                          CHORUS_FIELD(live.directory)));
  o.push_back(uint_option<uint32_t>("live.videoKbps", {}, {},
                                    "the live stream's video bitrate (H.264, 1280x720, 30 fps)",
                                    CHORUS_FIELD(live.video_kbps), 200, 20000));
  o.push_back(uint_option<uint32_t>("live.hlsListSize", {}, {},
                                    "HLS segments (2 s) the playlist lists; older ones are "
                                    "deleted (0: all stay, the playlist is a replay)",
                                    CHORUS_FIELD(live.hls_list_size), 0, 100000));
  o.push_back(string_option("rtmp.listen", "--rtmp-listen", "HOST:PORT",
                            "take RTMP publishers (OBS, FFmpeg, hardware encoders) on this address "
                            "as rtmp://HOST:PORT/APP/TOKEN, H.264 passed through or transcoded "
                            "(rtmp.video) and audio transcoded to Opus by recording.ffmpeg "
                            "(empty: off)",
                            CHORUS_FIELD(rtmp.listen), not_empty, "HOST:PORT with an IP address"));
  o.push_back(choice_option(
    "rtmp.video", "--rtmp-video", "auto|copy|transcode",
    "an RTMP publisher's H.264: copy, passed through (refused when the router lacks its profile "
    "or it has B-frames, which browsers play badly); transcode, always re-encoded to constrained "
    "baseline by the ingest's ffmpeg; auto, passed through where copy would, else transcoded",
    CHORUS_FIELD(rtmp.video), {"auto", "copy", "transcode"}));
  // The operator's view: admin API, webhooks, drain, metrics.
  o.push_back(string_option("admin.listen", "--admin-listen", "HOST:PORT",
                            "serve the admin API on this address (empty: off)",
                            CHORUS_FIELD(admin.listen), not_empty,
                            "HOST:PORT with an IP address"));
  o.push_back(string_option("admin.tokenFile", "--admin-token-file", "FILE",
                            "the admin API's bearer token: the first line of a file (16 bytes "
                            "at least)",
                            CHORUS_FIELD(admin.token_file), not_empty, "a FILE"));
  o.push_back(list_option("webhooks.urls", {}, {},
                          "http:// or https:// urls that get signed POSTs of room and "
                          "participant events (empty: off)",
                          CHORUS_FIELD(webhooks.urls), "an array of \"http(s)://HOST:PORT/PATH\"",
                          {}, nullptr));
  o.push_back(file_string("webhooks.key", "the HMAC-SHA256 key of the webhooks' signatures",
                          CHORUS_FIELD(webhooks.key)));
  o.push_back(file_string("webhooks.keyFile", "the key from the first line of a file",
                          CHORUS_FIELD(webhooks.key_file)));
  o.push_back(file_string("webhooks.caFile",
                          "PEM CA certificates https receivers must chain to (empty: the "
                          "system's)",
                          CHORUS_FIELD(webhooks.ca_file)));
  o.push_back(uint_option<uint32_t>("webhooks.queueSize", {}, {},
                                    "events waiting per url; the oldest is dropped beyond",
                                    CHORUS_FIELD(webhooks.queue_size), 1, 1000000));
  o.push_back(uint_option<uint32_t>("webhooks.maxAttempts", {}, {},
                                    "attempts per event and url, with backoff",
                                    CHORUS_FIELD(webhooks.max_attempts), 1, 100));
  o.push_back(uint_option<std::chrono::milliseconds>("webhooks.timeoutMs", {}, {},
                                    "per attempt: connect, send and answer",
                                    CHORUS_FIELD(webhooks.timeout), 100, 120000));
  o.push_back(uint_option<uint32_t>("drain.timeoutMs", "--drain-timeout-ms", "MS",
                                    "SIGTERM, and POST /drain without a timeout, refuse new rooms "
                                    "and joins and wait up to this long for the rooms to end (0: "
                                    "SIGTERM stops at once, POST /drain waits for the rooms)",
                                    CHORUS_FIELD(drain.timeout_ms), 0, 86400000,
                                    ms(0, 86400000)));
  o.push_back(bool_option("metrics.perRoom", {}, bool_flag::none,
                          "GET /metrics also gives series per room (one per room: cardinality)",
                          CHORUS_FIELD(metrics.per_room)));
  return o;
}

#undef CHORUS_FIELD

std::string markdown_cell(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '|')
      out += '\\';
    out += c;
  }
  return out;
}

} // namespace

const std::vector<option>& options() {
  static const std::vector<option> table = make_options();
  return table;
}

const option* find_option_by_key(std::string_view key) {
  for (auto& o : options())
    if (!o.key.empty() && o.key == key)
      return &o;
  return nullptr;
}

const option* find_option_by_flag(std::string_view flag) {
  for (auto& o : options())
    if (!o.flag.empty() && o.flag == flag)
      return &o;
  return nullptr;
}

bool is_option_section(std::string_view name) {
  for (auto& o : options())
    if (o.key.size() > name.size() && o.key.starts_with(name) && o.key[name.size()] == '.')
      return true;
  return false;
}

std::string options_markdown() {
  const config defaults;
  std::string out = "| key | flag | default | meaning |\n|---|---|---|---|\n";
  for (auto& o : options()) {
    std::string flag;
    if (!o.flag.empty())
      flag = "`" + std::string(o.flag) + (o.arg.empty() ? "" : " " + std::string(o.arg)) + "`";
    out += "| `" + std::string(o.key) + "` | " + markdown_cell(flag) + " | `" +
           markdown_cell(o.show(defaults)) + "` | " + markdown_cell(o.help) + " |\n";
  }
  return out;
}

} // namespace chorus::app
