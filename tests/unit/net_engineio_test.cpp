// Engine.IO v4 server logic (net/engineio): packets and payloads, the open packet, request
// classification and its errors, polling, ping/pong timing, the upgrade to WebSocket,
// closing, back-pressure bounds and CORS.
#include "net/engineio.hpp"

#include <doctest/doctest.h>

#include <cctype>
#include <memory>
#include <string>
#include <vector>

using namespace chorus::net::engineio;

namespace {

// Deterministic sids: s1, s2, ...
server make_server(options o = {}) {
  auto n = std::make_shared<int>(0);
  return server{o, [n] {
                  std::string sid = "s";
                  sid += std::to_string(++*n);
                  return sid;
                }};
}

std::vector<effect> of_kind(const effects& fx, effect_kind k) {
  std::vector<effect> out;
  for (auto& e : fx)
    if (e.kind == k)
      out.push_back(e);
  return out;
}

const effect* first(const effects& fx, effect_kind k) {
  for (auto& e : fx)
    if (e.kind == k)
      return &e;
  return nullptr;
}

// A polling session "s1" opened at t=0.
std::string open_polling(server& srv, int64_t now = 0) {
  auto sid = srv.new_sid();
  srv.open_session(sid, transport_kind::polling, 0, now);
  return sid;
}

std::string error_body(error_code c) { return error_json(c); }

// The one effect of `fx` (REQUIREd to be the only one), CHECKed to be of kind `k`.
const effect& only(const effects& fx, effect_kind k) {
  REQUIRE(fx.size() == 1);
  CHECK(fx[0].kind == k);
  return fx[0];
}

// A POST refused as too large (`r`, with its effects `fx`): 413, nothing handed over, and
// the session closed for that reason.
void check_too_large(const reply& r, const effects& fx) {
  CHECK(r.status == 413);
  CHECK(of_kind(fx, effect_kind::message).empty());
  const effect* closed = first(fx, effect_kind::closed);
  REQUIRE(closed);
  CHECK(closed->reason == close_reason::payload_too_large);
}

} // namespace

TEST_CASE("packets encode and decode") {
  CHECK(encode_packet({packet_type::message, "hello"}) == "4hello");
  CHECK(encode_packet({packet_type::ping, "probe"}) == "2probe");
  CHECK(encode_packet({packet_type::noop, ""}) == "6");
  packet bin;
  bin.type = packet_type::message;
  bin.binary = true;
  bin.data = std::string("\x01\x02\x03\x04", 4);
  CHECK(encode_packet(bin) == "bAQIDBA==");

  packet p;
  REQUIRE(decode_packet("4hello world", p));
  CHECK(p.type == packet_type::message);
  CHECK(p.data == "hello world");
  CHECK_FALSE(p.binary);
  REQUIRE(decode_packet("3", p));
  CHECK(p.type == packet_type::pong);
  CHECK(p.data.empty());
  REQUIRE(decode_packet("bAQIDBA==", p));
  CHECK(p.binary);
  CHECK(p.data == std::string("\x01\x02\x03\x04", 4));
  REQUIRE(decode_packet("baGk=", p));
  CHECK(p.data == "hi");
  REQUIRE(decode_packet("b", p)); // empty binary message
  CHECK(p.data.empty());

  CHECK_FALSE(decode_packet("", p));
  CHECK_FALSE(decode_packet("7", p));
  CHECK_FALSE(decode_packet("x", p));
  CHECK_FALSE(decode_packet("b!!!!", p));
  CHECK_FALSE(decode_packet("babc", p)); // not a multiple of 4
}

TEST_CASE("polling payloads are joined with the record separator") {
  std::vector<packet> ps{{packet_type::message, "a"}, {packet_type::ping, ""},
                         {packet_type::message, "b\x1f" "c"}};
  auto text = encode_payload(ps);
  CHECK(text == "4a\x1e" "2\x1e" "4b\x1f" "c");
  std::vector<packet> back;
  REQUIRE(decode_payload(text, back));
  REQUIRE(back.size() == 3);
  CHECK(back[0].data == "a");
  CHECK(back[1].type == packet_type::ping);
  CHECK(back[2].data == "b\x1f" "c");

  REQUIRE(decode_payload("4only", back));
  CHECK(back.size() == 1);
  REQUIRE(decode_payload("4x\x1e" "bAQ==", back));
  CHECK(back[1].binary);
  CHECK(back[1].data == std::string("\x01", 1));

  CHECK_FALSE(decode_payload("", back));
  CHECK_FALSE(decode_payload("4a\x1e", back));     // an empty record
  CHECK_FALSE(decode_payload("4a\x1e\x1e" "4b", back));
  CHECK_FALSE(decode_payload("4a\x1e" "9", back)); // unknown type
}

TEST_CASE("the open packet") {
  options o; // defaults
  CHECK(o.ping_interval_ms == 25000);
  CHECK(o.ping_timeout_ms == 20000);
  CHECK(o.max_payload == 1000000);
  CHECK(open_packet("abc", transport_kind::polling, o) ==
        R"(0{"sid":"abc","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000})");
  // A session that starts on a WebSocket has nothing to upgrade to.
  CHECK(open_packet("abc", transport_kind::websocket, o) ==
        R"(0{"sid":"abc","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000})");

  auto srv = make_server({300, 200, 5000});
  auto sid = srv.new_sid();
  CHECK(sid == "s1");
  CHECK(srv.open_session(sid, transport_kind::polling, 0, 0) ==
        R"(0{"sid":"s1","upgrades":["websocket"],"pingInterval":300,"pingTimeout":200,"maxPayload":5000})");
  CHECK(srv.size() == 1);
}

TEST_CASE("the default sid is 20 url-safe characters, and new") {
  server srv;
  auto a = srv.new_sid();
  auto b = srv.new_sid();
  CHECK(a.size() == 20);
  CHECK(a != b);
  for (char c : a)
    CHECK((std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_'));
}

TEST_CASE("errors: JSON bodies and status") {
  CHECK(error_json(error_code::unknown_transport) == R"({"code":0,"message":"Transport unknown"})");
  CHECK(error_json(error_code::unknown_sid) == R"({"code":1,"message":"Session ID unknown"})");
  CHECK(error_json(error_code::bad_handshake_method) ==
        R"({"code":2,"message":"Bad handshake method"})");
  CHECK(error_json(error_code::bad_request) == R"({"code":3,"message":"Bad request"})");
  CHECK(error_json(error_code::forbidden) == R"({"code":4,"message":"Forbidden"})");
  CHECK(error_json(error_code::unsupported_protocol_version) ==
        R"({"code":5,"message":"Unsupported protocol version"})");
  CHECK(error_json(error_code::bad_request, "a \"quoted\"\n") ==
        R"({"code":3,"message":"a \"quoted\"\u000a"})");
  CHECK(error_reply(error_code::unknown_sid).status == 400);
  CHECK(error_reply(error_code::unknown_sid).content_type == "application/json");
  CHECK(error_reply(error_code::forbidden).status == 403);
}

TEST_CASE("classify: every error case, in Engine.IO's order") {
  auto srv = make_server();
  auto sid = open_polling(srv);
  struct tcase {
    const char* name;
    const char* method;
    std::string query;
    bool upgrade;
    error_code expected;
  };
  std::vector<tcase> cases{
    {"no transport", "GET", "EIO=4", false, error_code::unknown_transport},
    {"unknown transport", "GET", "EIO=4&transport=flash", false, error_code::unknown_transport},
    {"webtransport is not served", "GET", "EIO=4&transport=webtransport", false,
     error_code::unknown_transport},
    {"unknown sid", "GET", "EIO=4&transport=polling&sid=nope", false, error_code::unknown_sid},
    {"unknown sid on upgrade", "GET", "EIO=4&transport=websocket&sid=nope", true,
     error_code::unknown_sid},
    {"handshake by POST", "POST", "EIO=4&transport=polling", false,
     error_code::bad_handshake_method},
    {"handshake by PUT", "PUT", "EIO=4&transport=polling", false,
     error_code::bad_handshake_method},
    {"protocol 3", "GET", "EIO=3&transport=polling", false,
     error_code::unsupported_protocol_version},
    {"no protocol", "GET", "transport=polling", false, error_code::unsupported_protocol_version},
    {"websocket handshake without upgrade", "GET", "EIO=4&transport=websocket", false,
     error_code::bad_request},
    {"polling handshake as an upgrade", "GET", "EIO=4&transport=polling", true,
     error_code::bad_request},
    {"transport mismatch", "GET", "EIO=4&transport=websocket&sid=" + sid, false,
     error_code::bad_request},
    {"upgrade naming polling", "GET", "EIO=4&transport=polling&sid=" + sid, true,
     error_code::bad_request},
    {"bad method on a session", "PUT", "EIO=4&transport=polling&sid=" + sid, false,
     error_code::bad_request},
    {"malformed sid escape", "GET", "EIO=4&transport=polling&sid=%zz", false,
     error_code::bad_request},
  };
  for (auto& c : cases) {
    CAPTURE(c.name);
    auto r = srv.classify(c.method, c.query, c.upgrade);
    REQUIRE(r.what == route::kind::error);
    CHECK(r.error.status == 400);
    CHECK(r.error.body == error_body(c.expected));
  }
}

TEST_CASE("classify: the valid routes") {
  auto srv = make_server();
  auto sid = open_polling(srv);
  auto r = srv.classify("GET", "EIO=4&transport=polling&t=abc", false);
  CHECK(r.what == route::kind::handshake);
  CHECK(r.transport == transport_kind::polling);
  r = srv.classify("GET", "EIO=4&transport=websocket", true);
  CHECK(r.what == route::kind::handshake);
  CHECK(r.transport == transport_kind::websocket);
  r = srv.classify("GET", "EIO=4&transport=polling&sid=" + sid, false);
  CHECK(r.what == route::kind::poll);
  CHECK(r.sid == sid);
  r = srv.classify("POST", "EIO=4&transport=polling&sid=" + sid, false);
  CHECK(r.what == route::kind::post);
  r = srv.classify("GET", "EIO=4&transport=websocket&sid=" + sid, true);
  CHECK(r.what == route::kind::upgrade);
  CHECK(r.sid == sid);
  // An empty sid is no sid: a handshake, as in Engine.IO.
  r = srv.classify("GET", "EIO=4&transport=polling&sid=", false);
  CHECK(r.what == route::kind::handshake);
}

TEST_CASE("polling: a poll waits for packets, queued packets go out joined") {
  auto srv = make_server();
  auto sid = open_polling(srv);
  effects fx;
  auto p = srv.on_poll(sid, 10, fx);
  CHECK(p.hold);
  CHECK(srv.info(sid)->poll_held);
  CHECK(fx.empty());

  srv.send(sid, "hello", 20, fx);
  only(fx, effect_kind::poll_reply);
  CHECK(fx[0].sid == sid);
  CHECK(fx[0].data == "4hello");
  CHECK_FALSE(srv.info(sid)->poll_held);

  // No poll pending: packets wait, then leave in one payload.
  fx.clear();
  srv.send(sid, "a", 30, fx);
  srv.send(sid, "b", 31, fx);
  CHECK(fx.empty());
  CHECK(srv.info(sid)->queued_packets == 2);
  p = srv.on_poll(sid, 40, fx);
  CHECK_FALSE(p.hold);
  CHECK(p.answer.status == 200);
  CHECK(p.answer.content_type == "text/plain; charset=UTF-8");
  CHECK(p.answer.body == "4a\x1e" "4b");
  CHECK(srv.info(sid)->queued_packets == 0);
}

TEST_CASE("polling: POST delivers messages in order and answers ok") {
  auto srv = make_server();
  auto sid = open_polling(srv);
  effects fx;
  auto r = srv.on_post(sid, "4one\x1e" "4two\x1e" "6\x1e" "4three", 5, fx);
  CHECK(r.status == 200);
  CHECK(r.body == "ok");
  auto msgs = of_kind(fx, effect_kind::message);
  REQUIRE(msgs.size() == 3);
  CHECK(msgs[0].data == "one");
  CHECK(msgs[1].data == "two");
  CHECK(msgs[2].data == "three");

  fx.clear();
  r = srv.on_post(sid, "bAQID", 6, fx);
  CHECK(r.status == 200);
  CHECK(only(fx, effect_kind::binary).data.size() == 3);
}

TEST_CASE("polling: the client's close packet ends the session, a pending poll gets a noop") {
  auto srv = make_server();
  auto sid = open_polling(srv);
  effects fx;
  CHECK(srv.on_poll(sid, 1, fx).hold);
  auto r = srv.on_post(sid, "4bye\x1e" "1\x1e" "4ignored", 2, fx);
  CHECK(r.status == 200);
  auto msgs = of_kind(fx, effect_kind::message);
  REQUIRE(msgs.size() == 1);
  CHECK(msgs[0].data == "bye");
  auto reply = first(fx, effect_kind::poll_reply);
  REQUIRE(reply);
  CHECK(reply->data == "6");
  auto closed = first(fx, effect_kind::closed);
  REQUIRE(closed);
  CHECK(closed->reason == close_reason::client_close);
  CHECK(closed->code == 1000);
  CHECK(srv.size() == 0);
  CHECK(srv.classify("GET", "EIO=4&transport=polling&sid=" + sid, false).error.body ==
        error_body(error_code::unknown_sid));
}

TEST_CASE("polling: an undecodable POST is a bad request and ends the session") {
  for (std::string body : {std::string{""}, std::string{"9x"}, std::string{"4a\x1e"}}) {
    CAPTURE(body);
    auto srv = make_server();
    auto sid = open_polling(srv);
    effects fx;
    auto r = srv.on_post(sid, body, 1, fx);
    CHECK(r.status == 400);
    CHECK(r.body == error_body(error_code::bad_request));
    auto closed = first(fx, effect_kind::closed);
    REQUIRE(closed);
    CHECK(closed->reason == close_reason::parse_error);
    CHECK(srv.info(sid)->closing); // its close packet waits for the next poll
    auto p = srv.on_poll(sid, 2, fx);
    CHECK(p.answer.body == "1");
    CHECK(srv.size() == 0);
  }
}

TEST_CASE("polling: a POST larger than maxPayload is refused with 413 and ends the session") {
  options o;
  o.max_payload = 10;
  auto srv = make_server(o);
  auto sid = open_polling(srv);
  effects fx;
  CHECK(srv.on_post(sid, "4123456789", 1, fx).status == 200); // exactly 10 bytes
  fx.clear();
  CHECK(srv.on_poll(sid, 2, fx).hold);
  check_too_large(srv.on_post(sid, "41234567890", 3, fx), fx);
  auto reply = first(fx, effect_kind::poll_reply);
  REQUIRE(reply);
  CHECK(reply->data == "1"); // the pending poll learns of the close
  CHECK(srv.size() == 0);

  // A body too large to read at all (the HTTP layer's limit) ends the session too.
  auto sid2 = open_polling(srv);
  fx.clear();
  CHECK(srv.on_post_too_large(sid2, 4, fx).status == 413);
  REQUIRE(first(fx, effect_kind::closed));
  CHECK(srv.on_post_too_large("nope", 4, fx).status == 413);
}

TEST_CASE("polling: a POST of more than max_packets_per_post packets is refused with 413") {
  options o;
  o.max_packets_per_post = 4;
  auto srv = make_server(o);
  auto sid = open_polling(srv);
  effects fx;
  CHECK(srv.on_post(sid, "4a\x1e" "4b\x1e" "4c\x1e" "4d", 1, fx).status == 200); // exactly 4
  CHECK(of_kind(fx, effect_kind::message).size() == 4);
  fx.clear();
  // Five packets, each one byte: small, but none is handed over and the session ends.
  check_too_large(srv.on_post(sid, "4\x1e" "4\x1e" "4\x1e" "4\x1e" "4", 2, fx), fx);
  CHECK(options{}.max_packets_per_post == 1024);
}

TEST_CASE("polling: a second concurrent poll is an error that ends the session") {
  auto srv = make_server();
  auto sid = open_polling(srv);
  effects fx;
  CHECK(srv.on_poll(sid, 1, fx).hold);
  auto second = srv.on_poll(sid, 2, fx);
  CHECK_FALSE(second.hold);
  CHECK(second.answer.status == 400);
  CHECK(second.answer.body == error_body(error_code::bad_request));
  auto reply = first(fx, effect_kind::poll_reply);
  REQUIRE(reply);
  CHECK(reply->data == "1");
  auto closed = first(fx, effect_kind::closed);
  REQUIRE(closed);
  CHECK(closed->reason == close_reason::transport_error);
  CHECK(srv.size() == 0);
}

TEST_CASE("polling: a poll whose connection went away ends the session") {
  auto srv = make_server();
  auto sid = open_polling(srv);
  effects fx;
  srv.on_poll_aborted(sid, 1, fx); // nothing held: nothing happens
  CHECK(fx.empty());
  CHECK(srv.on_poll(sid, 1, fx).hold);
  srv.on_poll_aborted(sid, 2, fx);
  auto closed = first(fx, effect_kind::closed);
  REQUIRE(closed);
  CHECK(closed->reason == close_reason::transport_error);
  CHECK(first(fx, effect_kind::poll_reply) == nullptr);
}

TEST_CASE("ping: sent every pingInterval, pong reschedules, a session without pong is closed") {
  options o;
  o.ping_interval_ms = 1000;
  o.ping_timeout_ms = 500;
  auto srv = make_server(o);
  auto sid = open_polling(srv, 100);
  REQUIRE(srv.next_deadline());
  CHECK(*srv.next_deadline() == 1100);
  effects fx;
  CHECK(srv.on_poll(sid, 150, fx).hold);
  srv.on_time(1099, fx);
  CHECK(fx.empty());

  srv.on_time(1100, fx);
  // The held poll carries the ping: it is bounded by pingInterval.
  CHECK(only(fx, effect_kind::poll_reply).data == "2");
  CHECK(srv.info(sid)->awaiting_pong);
  CHECK(*srv.next_deadline() == 1600);

  // The pong arrives in time: the next ping is pingInterval after it.
  fx.clear();
  CHECK(srv.on_post(sid, "3", 1300, fx).status == 200);
  CHECK(fx.empty());
  CHECK_FALSE(srv.info(sid)->awaiting_pong);
  CHECK(*srv.next_deadline() == 2300);
  srv.on_time(1600, fx);
  CHECK(fx.empty());
  CHECK(srv.size() == 1);

  // No poll pending at the next ping: it waits in the queue; no pong comes.
  srv.on_time(2300, fx);
  CHECK(fx.empty());
  CHECK(srv.info(sid)->queued_packets == 1);
  srv.on_time(2799, fx);
  CHECK(fx.empty());
  srv.on_time(2800, fx);
  auto closed = first(fx, effect_kind::closed);
  REQUIRE(closed);
  CHECK(closed->reason == close_reason::ping_timeout);
  CHECK(closed->code == 1006);
  // The close packet waits for a poll for at most pingTimeout, then the session is gone.
  CHECK(srv.info(sid)->closing);
  CHECK(*srv.next_deadline() == 3300);
  fx.clear();
  srv.on_time(3300, fx);
  CHECK(fx.empty());
  CHECK(srv.size() == 0);
  CHECK_FALSE(srv.next_deadline());
}

TEST_CASE("ping: a late poll collects the ping and the close packet") {
  options o;
  o.ping_interval_ms = 100;
  o.ping_timeout_ms = 50;
  auto srv = make_server(o);
  auto sid = open_polling(srv);
  effects fx;
  srv.on_time(100, fx);
  srv.on_time(150, fx);
  REQUIRE(first(fx, effect_kind::closed));
  auto p = srv.on_poll(sid, 160, fx);
  CHECK(p.answer.body == "2\x1e" "1");
  CHECK(srv.size() == 0);
}

TEST_CASE("ping: an unsolicited pong changes nothing, a ping from the client is an error") {
  options o;
  o.ping_interval_ms = 100;
  auto srv = make_server(o);
  auto sid = open_polling(srv);
  effects fx;
  srv.on_post(sid, "3", 50, fx);
  CHECK(*srv.next_deadline() == 100);
  srv.on_post(sid, "2", 60, fx);
  auto closed = first(fx, effect_kind::closed);
  REQUIRE(closed);
  CHECK(closed->reason == close_reason::transport_error);
}

TEST_CASE("websocket session: open, messages, ping/pong, transport close") {
  options o;
  o.ping_interval_ms = 1000;
  o.ping_timeout_ms = 500;
  auto srv = make_server(o);
  auto sid = srv.new_sid();
  auto open = srv.open_session(sid, transport_kind::websocket, 7, 0);
  CHECK(open.find("\"upgrades\":[]") != std::string::npos);
  effects fx;
  srv.send(sid, "hi", 1, fx);
  only(fx, effect_kind::ws_send);
  CHECK(fx[0].ws == 7);
  CHECK(fx[0].data == "4hi");

  fx.clear();
  srv.on_ws_text(sid, 7, "4from client", 2, fx);
  CHECK(only(fx, effect_kind::message).data == "from client");

  fx.clear();
  srv.on_time(1000, fx);
  CHECK(only(fx, effect_kind::ws_send).data == "2");
  fx.clear();
  srv.on_ws_text(sid, 7, "3", 1200, fx);
  CHECK(fx.empty());
  CHECK(*srv.next_deadline() == 2200);

  srv.on_ws_binary(sid, 7, 12, 1300, fx);
  CHECK(only(fx, effect_kind::binary).data.size() == 12);

  fx.clear();
  srv.on_ws_closed(sid, 7, 1001, 1400, fx);
  only(fx, effect_kind::closed);
  CHECK(fx[0].reason == close_reason::transport_close);
  CHECK(fx[0].code == 1001);
  CHECK(srv.size() == 0);
}

TEST_CASE("websocket session: ping timeout closes the WebSocket") {
  options o;
  o.ping_interval_ms = 1000;
  o.ping_timeout_ms = 500;
  auto srv = make_server(o);
  auto sid = srv.new_sid();
  srv.open_session(sid, transport_kind::websocket, 3, 0);
  effects fx;
  srv.on_time(1000, fx);
  fx.clear();
  srv.on_time(1500, fx);
  auto close = first(fx, effect_kind::ws_close);
  REQUIRE(close);
  CHECK(close->ws == 3);
  CHECK(close->code == 1000); // 1006 cannot be sent in a close frame
  auto closed = first(fx, effect_kind::closed);
  REQUIRE(closed);
  CHECK(closed->reason == close_reason::ping_timeout);
  CHECK(srv.size() == 0);
}

TEST_CASE("websocket session: bad frames end it") {
  auto srv = make_server();
  auto sid = srv.new_sid();
  srv.open_session(sid, transport_kind::websocket, 3, 0);
  effects fx;
  srv.on_ws_text(sid, 3, "x", 1, fx);
  auto closed = first(fx, effect_kind::closed);
  REQUIRE(closed);
  CHECK(closed->reason == close_reason::parse_error);
  REQUIRE(first(fx, effect_kind::ws_close));
  // The close packet over a WebSocket ends it as well.
  sid = srv.new_sid();
  srv.open_session(sid, transport_kind::websocket, 4, 0);
  fx.clear();
  srv.on_ws_text(sid, 4, "1", 1, fx);
  closed = first(fx, effect_kind::closed);
  REQUIRE(closed);
  CHECK(closed->reason == close_reason::client_close);
}

TEST_CASE("upgrade: probe, noop to the pending poll, upgrade packet, then only the WebSocket") {
  auto srv = make_server(); // upgrade_check_ms 100, as Engine.IO
  auto sid = open_polling(srv);
  effects fx;
  CHECK(srv.on_poll(sid, 1, fx).hold);
  REQUIRE(srv.attach_probe(sid, 9, 2));
  CHECK(srv.info(sid)->upgrading);
  CHECK_FALSE(srv.attach_probe(sid, 10, 2)); // one upgrade at a time

  srv.on_ws_text(sid, 9, "2probe", 3, fx);
  only(fx, effect_kind::ws_send);
  CHECK(fx[0].ws == 9);
  CHECK(fx[0].data == "3probe");
  CHECK(srv.info(sid)->probed);
  CHECK(srv.info(sid)->transport == transport_kind::polling);

  // Until the check, the pending poll still carries what the application sends.
  fx.clear();
  srv.send(sid, "in flight", 50, fx);
  CHECK(only(fx, effect_kind::poll_reply).data == "4in flight");
  fx.clear();
  CHECK(srv.on_poll(sid, 60, fx).hold);
  CHECK(*srv.next_deadline() == 103);
  srv.on_time(102, fx);
  CHECK(fx.empty());
  // The check ends the pending poll with a noop: the client pauses polling.
  srv.on_time(103, fx);
  CHECK(only(fx, effect_kind::poll_reply).data == "6");
  CHECK_FALSE(srv.info(sid)->poll_held);
  CHECK(*srv.next_deadline() == 203); // checks go on every 100 ms while probed
  fx.clear();
  srv.on_time(203, fx);
  CHECK(fx.empty()); // no poll pending: nothing to end

  // Packets sent meanwhile wait; the client may still POST over polling.
  srv.send(sid, "queued", 205, fx);
  CHECK(fx.empty());
  CHECK(srv.on_post(sid, "4late post", 206, fx).status == 200);
  REQUIRE(of_kind(fx, effect_kind::message).size() == 1);

  fx.clear();
  srv.on_ws_text(sid, 9, "5", 207, fx);
  only(fx, effect_kind::ws_send);
  CHECK(fx[0].ws == 9);
  CHECK(fx[0].data == "4queued");
  auto info = srv.info(sid);
  CHECK(info->transport == transport_kind::websocket);
  CHECK_FALSE(info->upgrading);
  CHECK(*srv.next_deadline() == 25000); // only the ping is left

  fx.clear();
  srv.send(sid, "after", 208, fx);
  CHECK(only(fx, effect_kind::ws_send).data == "4after");
  srv.on_ws_text(sid, 9, "4up", 209, fx);
  CHECK(of_kind(fx, effect_kind::message).back().data == "up");

  // Polling is over for this session.
  auto r = srv.classify("GET", "EIO=4&transport=polling&sid=" + sid, false);
  CHECK(r.what == route::kind::error);
  CHECK(r.error.body == error_body(error_code::bad_request));
  CHECK(srv.on_poll(sid, 210, fx).answer.status == 400);
  CHECK(srv.on_post(sid, "4x", 210, fx).status == 400);
  CHECK_FALSE(srv.attach_probe(sid, 11, 210)); // nothing left to upgrade
}

TEST_CASE("upgrade: a poll still pending at the upgrade packet gets a noop") {
  auto srv = make_server();
  auto sid = open_polling(srv);
  effects fx;
  REQUIRE(srv.attach_probe(sid, 9, 0));
  srv.on_ws_text(sid, 9, "2probe", 1, fx);
  CHECK(srv.on_poll(sid, 2, fx).hold);
  fx.clear();
  srv.on_ws_text(sid, 9, "5", 3, fx);
  CHECK(only(fx, effect_kind::poll_reply).data == "6");
}

TEST_CASE("upgrade: with upgrade_check_ms 0 the pending poll is ended at the probe") {
  options o;
  o.upgrade_check_ms = 0;
  auto srv = make_server(o);
  auto sid = open_polling(srv);
  effects fx;
  CHECK(srv.on_poll(sid, 1, fx).hold);
  REQUIRE(srv.attach_probe(sid, 9, 2));
  srv.on_ws_text(sid, 9, "2probe", 3, fx);
  REQUIRE(fx.size() == 2);
  CHECK(fx[0].data == "3probe");
  CHECK(fx[1].kind == effect_kind::poll_reply);
  CHECK(fx[1].data == "6");
  // A poll during the upgrade is answered at once.
  auto p = srv.on_poll(sid, 4, fx);
  CHECK_FALSE(p.hold);
  CHECK(p.answer.body == "6");
  CHECK(*srv.next_deadline() == 10002); // the upgrade timeout; no check timer
}

TEST_CASE("upgrade: the ping timer carries over to the WebSocket") {
  options o;
  o.ping_interval_ms = 1000;
  o.ping_timeout_ms = 500;
  auto srv = make_server(o);
  auto sid = open_polling(srv);
  effects fx;
  REQUIRE(srv.attach_probe(sid, 5, 10));
  srv.on_ws_text(sid, 5, "2probe", 11, fx);
  srv.on_ws_text(sid, 5, "5", 12, fx);
  fx.clear();
  srv.on_time(1000, fx);
  CHECK(only(fx, effect_kind::ws_send).data == "2");
}

TEST_CASE("upgrade: a bad probe, a closed probe, a timed-out probe leave polling working") {
  options o;
  o.upgrade_timeout_ms = 100;
  auto srv = make_server(o);
  auto sid = open_polling(srv);
  effects fx;

  REQUIRE(srv.attach_probe(sid, 1, 0));
  srv.on_ws_text(sid, 1, "4not a probe", 1, fx);
  CHECK(only(fx, effect_kind::ws_close).ws == 1);
  CHECK_FALSE(srv.info(sid)->upgrading);

  REQUIRE(srv.attach_probe(sid, 2, 10));
  fx.clear();
  srv.on_ws_closed(sid, 2, 1006, 11, fx);
  CHECK(fx.empty());
  CHECK_FALSE(srv.info(sid)->upgrading);

  REQUIRE(srv.attach_probe(sid, 3, 20));
  CHECK(*srv.next_deadline() == 120);
  srv.on_time(120, fx);
  CHECK(only(fx, effect_kind::ws_close).ws == 3);
  CHECK_FALSE(srv.info(sid)->upgrading);

  // Frames of a WebSocket that no longer belongs to the session close it.
  fx.clear();
  srv.on_ws_text(sid, 3, "5", 130, fx);
  only(fx, effect_kind::ws_close);
  CHECK(srv.info(sid)->transport == transport_kind::polling);

  fx.clear();
  CHECK(srv.on_post(sid, "4still polling", 140, fx).status == 200);
  CHECK(of_kind(fx, effect_kind::message).size() == 1);
}

TEST_CASE("the application closes: polling delivers the close packet at the next poll") {
  auto srv = make_server();
  auto sid = open_polling(srv);
  effects fx;
  srv.send(sid, "last words", 1, fx);
  srv.close(sid, close_reason::server_close, 4001, 2, fx);
  auto closed = first(fx, effect_kind::closed);
  REQUIRE(closed);
  CHECK(closed->code == 4001);
  CHECK(closed->reason == close_reason::server_close);
  CHECK(srv.info(sid)->closing);
  fx.clear();
  srv.send(sid, "too late", 3, fx); // ignored
  auto p = srv.on_poll(sid, 4, fx);
  CHECK(p.answer.body == "4last words\x1e" "1");
  CHECK(srv.size() == 0);

  // With a poll pending, the close packet goes out at once.
  sid = open_polling(srv);
  fx.clear();
  CHECK(srv.on_poll(sid, 5, fx).hold);
  srv.close(sid, close_reason::server_close, 1000, 6, fx);
  auto reply = first(fx, effect_kind::poll_reply);
  REQUIRE(reply);
  CHECK(reply->data == "1");
  CHECK(srv.size() == 0);
}

TEST_CASE("the application closes: a WebSocket session sends what is queued, then closes") {
  auto srv = make_server();
  auto sid = open_polling(srv);
  effects fx;
  REQUIRE(srv.attach_probe(sid, 4, 0));
  srv.on_ws_text(sid, 4, "2probe", 1, fx);
  srv.on_ws_text(sid, 4, "5", 2, fx);
  fx.clear();
  srv.close(sid, close_reason::server_close, 4001, 3, fx);
  REQUIRE(fx.size() == 2);
  CHECK(fx[0].kind == effect_kind::ws_close);
  CHECK(fx[0].ws == 4);
  CHECK(fx[0].code == 4001);
  CHECK(fx[1].kind == effect_kind::closed);
  CHECK(srv.size() == 0);
  // Closing again, or what arrives later, does nothing.
  fx.clear();
  srv.close(sid, close_reason::server_close, 1000, 4, fx);
  srv.on_ws_closed(sid, 4, 4001, 5, fx);
  CHECK(fx.empty());
}

TEST_CASE("closing during an upgrade closes the probe too") {
  auto srv = make_server();
  auto sid = open_polling(srv);
  effects fx;
  REQUIRE(srv.attach_probe(sid, 4, 0));
  srv.close(sid, close_reason::server_close, 1000, 1, fx);
  auto c = first(fx, effect_kind::ws_close);
  REQUIRE(c);
  CHECK(c->ws == 4);
  CHECK(first(fx, effect_kind::closed));
  CHECK_FALSE(srv.attach_probe(sid, 5, 2)); // closing: no upgrade
}

TEST_CASE("a polling session with too much queued is a slow reader") {
  options o;
  o.max_queued_bytes = 10;
  auto srv = make_server(o);
  auto sid = open_polling(srv);
  effects fx;
  srv.send(sid, "12345", 1, fx);
  srv.send(sid, "1234", 2, fx); // 6 + 5 = 11 bytes
  auto closed = first(fx, effect_kind::closed);
  REQUIRE(closed);
  CHECK(closed->reason == close_reason::slow_reader);
  auto p = srv.on_poll(sid, 3, fx);
  CHECK(p.answer.body == "1"); // the backlog is dropped; only the close packet is left
}

TEST_CASE("close_all ends every session at once") {
  auto srv = make_server();
  auto a = open_polling(srv);
  auto b = srv.new_sid();
  srv.open_session(b, transport_kind::websocket, 2, 0);
  effects fx;
  CHECK(srv.on_poll(a, 1, fx).hold);
  srv.close_all(close_reason::server_shutdown, 1001, 2, fx);
  CHECK(of_kind(fx, effect_kind::closed).size() == 2);
  CHECK(of_kind(fx, effect_kind::poll_reply).size() == 1);
  auto c = first(fx, effect_kind::ws_close);
  REQUIRE(c);
  CHECK(c->code == 1001);
  CHECK(srv.size() == 0);
  CHECK_FALSE(srv.next_deadline());
}

TEST_CASE("timers: many sessions, each on its own schedule") {
  options o;
  o.ping_interval_ms = 100;
  o.ping_timeout_ms = 50;
  auto srv = make_server(o);
  std::vector<std::string> sids;
  for (int i = 0; i < 5; ++i) {
    auto sid = srv.new_sid();
    srv.open_session(sid, transport_kind::websocket, static_cast<uint64_t>(i + 1), i * 10);
    sids.push_back(sid);
  }
  CHECK(*srv.next_deadline() == 100);
  effects fx;
  srv.on_time(125, fx); // sessions opened at 0, 10, 20 are pinged (pong due by 175)
  CHECK(of_kind(fx, effect_kind::ws_send).size() == 3);
  CHECK(*srv.next_deadline() == 130);
  // Only the first answers.
  srv.on_ws_text(sids[0], 1, "3", 130, fx);
  fx.clear();
  srv.on_time(200, fx); // two pong timeouts; the sessions opened at 30 and 40 are pinged
  CHECK(of_kind(fx, effect_kind::closed).size() == 2);
  CHECK(of_kind(fx, effect_kind::ws_send).size() == 2);
  CHECK(srv.size() == 3);
  CHECK(*srv.next_deadline() == 230);
}

TEST_CASE("CORS: an admitted Origin is echoed with credentials") {
  // Whether an Origin is allowed is decided before (net/http_admission.hpp, whose tests
  // are in net_http_admission.cpp); these headers are for admitted requests.
  auto h = cors_headers("http://b.example:8080");
  REQUIRE(h.size() == 3);
  CHECK(h[0] == std::pair<std::string, std::string>{"Access-Control-Allow-Origin",
                                                     "http://b.example:8080"});
  CHECK(h[1] == std::pair<std::string, std::string>{"Access-Control-Allow-Credentials", "true"});
  CHECK(h[2] == std::pair<std::string, std::string>{"Vary", "Origin"});
  CHECK(cors_headers("").empty()); // no Origin: no CORS headers

  auto pre = cors_preflight_headers("https://x.example", "content-type, x-custom");
  bool methods = false, headers = false;
  for (auto& [k, v] : pre) {
    if (k == "Access-Control-Allow-Methods") {
      methods = true;
      CHECK(v.find("POST") != std::string::npos);
      CHECK(v.find("GET") != std::string::npos);
    }
    if (k == "Access-Control-Allow-Headers") {
      headers = true;
      CHECK(v == "content-type, x-custom");
    }
  }
  CHECK(methods);
  CHECK(headers);
  CHECK(cors_preflight_headers("", "").empty());
}
