// Webhook bodies, signatures (RFC 4231 HMAC-SHA256 vectors), receiver urls and the retry
// schedule (protocol/webhook.hpp).
#include "protocol/webhook.hpp"

#include <doctest/doctest.h>

using namespace chorus::protocol;

TEST_CASE("webhook_signature: RFC 4231 test cases 1 and 2, as sha256=hex") {
  // Case 1: key 0x0b x 20, data "Hi There".
  CHECK(webhook_signature(std::string(20, '\x0b'), "Hi There") ==
        "sha256=b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  // Case 2: key "Jefe", data "what do ya want for nothing?".
  CHECK(webhook_signature("Jefe", "what do ya want for nothing?") ==
        "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST_CASE("webhook_json: each event's shape") {
  struct row {
    const char* name;
    webhook_event ev;
    const char* json;
  };
  webhook_event joined;
  joined.type = "participant-joined";
  joined.room_id = "class \"7\"";
  joined.node_id = "n1";
  joined.at_ms = 1700000000123;
  joined.peer_id = "p1";
  joined.user_id = "u1";
  joined.name = "Ann";
  joined.role = "student";
  joined.participants = 2;
  webhook_event left = joined;
  left.type = "participant-left";
  left.participants = 1;
  left.reason = "kicked";
  left.duration_ms = 5000;
  webhook_event started;
  started.type = "room-started";
  started.room_id = "r";
  started.node_id = "n1";
  started.at_ms = 5;
  webhook_event finished = started;
  finished.type = "room-finished";
  finished.duration_ms = 60000;
  webhook_event rec;
  rec.type = "recording-finished";
  rec.room_id = "r";
  rec.node_id = "n1";
  rec.at_ms = 9;
  rec.recording_id = "rec1";
  rec.file = "/var/lib/chorus/rec1.webm";
  rec.bytes = 1234;
  rec.duration_ms = 3000;
  webhook_event live;
  live.type = "live-stream-failed";
  live.room_id = "r";
  live.node_id = "n1";
  live.at_ms = 11;
  live.live_stream_id = "ls1";
  live.target = "rtmp";
  live.where = "rtmp://a.example/live2/...";
  live.reason = "ffmpeg-exited: the composer exited";
  webhook_event live_stopped = live;
  live_stopped.type = "live-stream-stopped";
  live_stopped.reason = "stopped";
  live_stopped.cpu_ms = 5210;
  const row rows[] = {
    {"joined", joined,
     R"({"event":"participant-joined","id":"d1","createdAt":1700000000123,"node":"n1","room":{"id":"class \"7\"","participants":2},"participant":{"peerId":"p1","userId":"u1","name":"Ann","role":"student"}})"},
    {"left", left,
     R"({"event":"participant-left","id":"d1","createdAt":1700000000123,"node":"n1","room":{"id":"class \"7\"","participants":1},"participant":{"peerId":"p1","userId":"u1","name":"Ann","role":"student","reason":"kicked","durationMs":5000}})"},
    {"started", started, R"({"event":"room-started","id":"d1","createdAt":5,"node":"n1","room":{"id":"r"}})"},
    {"finished", finished,
     R"({"event":"room-finished","id":"d1","createdAt":5,"node":"n1","room":{"id":"r","durationMs":60000}})"},
    {"recording", rec,
     R"({"event":"recording-finished","id":"d1","createdAt":9,"node":"n1","room":{"id":"r"},"recording":{"id":"rec1","file":"/var/lib/chorus/rec1.webm","bytes":1234,"durationMs":3000}})"},
    {"live stream failed", live,
     R"({"event":"live-stream-failed","id":"d1","createdAt":11,"node":"n1","room":{"id":"r"},"liveStream":{"id":"ls1","target":"rtmp","where":"rtmp://a.example/live2/...","reason":"ffmpeg-exited: the composer exited"}})"},
    {"live stream stopped", live_stopped,
     R"({"event":"live-stream-stopped","id":"d1","createdAt":11,"node":"n1","room":{"id":"r"},"liveStream":{"id":"ls1","target":"rtmp","where":"rtmp://a.example/live2/...","reason":"stopped","cpuMs":5210}})"},
  };
  for (auto& r : rows) {
    CAPTURE(r.name);
    CHECK(webhook_json(r.ev, "d1") == r.json);
  }
}

TEST_CASE("parse_http_url: accepted and refused") {
  struct row {
    const char* url;
    bool ok;
    const char* host;
    uint16_t port;
    const char* target;
  };
  const row rows[] = {
    {"http://127.0.0.1:8000/hooks", true, "127.0.0.1", 8000, "/hooks"},
    {"http://portal.example/x?y=1", true, "portal.example", 80, "/x?y=1"},
    {"http://[::1]:9/", true, "::1", 9, "/"},
    {"http://host", true, "host", 80, "/"},
    {"https://host/", true, "host", 443, "/"},
    {"https://10.0.0.1:8443/h", true, "10.0.0.1", 8443, "/h"},
    {"ftp://host/", false, "", 0, ""},
    {"http://", false, "", 0, ""},
    {"http://host:0/", false, "", 0, ""},
    {"http://host:65536/", false, "", 0, ""},
    {"http://host:/", false, "", 0, ""},
    {"http://user@host/", false, "", 0, ""},
    {"http://[::1/", false, "", 0, ""},
    {"http://host/a b", false, "", 0, ""},
  };
  for (auto& r : rows) {
    CAPTURE(r.url);
    auto u = parse_http_url(r.url);
    REQUIRE(u.has_value() == r.ok);
    if (r.ok) {
      CHECK(u->host == r.host);
      CHECK(u->port == r.port);
      CHECK(u->target == r.target);
      CHECK(u->tls == std::string_view{r.url}.starts_with("https://"));
    }
  }
}

TEST_CASE("webhook_backoff_ms: 0.5 s doubling, at most 30 s") {
  CHECK(webhook_backoff_ms(1) == 0);
  CHECK(webhook_backoff_ms(2) == 500);
  CHECK(webhook_backoff_ms(3) == 1000);
  CHECK(webhook_backoff_ms(4) == 2000);
  CHECK(webhook_backoff_ms(8) == 30000);
  CHECK(webhook_backoff_ms(100) == 30000);
}
