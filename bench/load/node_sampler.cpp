#include "bench/load/node_sampler.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <rapidjson/document.h>

#include <chrono>

namespace chorus::bench {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

std::optional<relay_counters> parse_relays(const std::string& body) {
  rapidjson::Document doc;
  doc.Parse(body.c_str(), body.size());
  if (doc.HasParseError() || !doc.IsObject())
    return std::nullopt;
  auto it = doc.FindMember("relays");
  if (it == doc.MemberEnd() || !it->value.IsObject())
    return std::nullopt;
  auto& r = it->value;
  auto u64 = [&](const char* k) -> std::optional<uint64_t> {
    auto m = r.FindMember(k);
    if (m == r.MemberEnd() || !m->value.IsUint64())
      return std::nullopt;
    return m->value.GetUint64();
  };
  auto in = u64("packetsIn"), out = u64("packetsOut"), active = u64("active");
  if (!in || !out)
    return std::nullopt;
  return relay_counters{*in, *out, active ? int64_t(*active) : 0};
}

std::optional<std::string> fetch_healthz(const std::string& ws_url, int timeout_ms) {
  // ws://HOST:PORT[/...]
  std::string rest = ws_url.substr(ws_url.rfind("ws://", 0) == 0 ? 5 : 0);
  rest = rest.substr(0, rest.find('/'));
  auto colon = rest.rfind(':');
  if (colon == std::string::npos)
    return std::nullopt;
  const std::string host = rest.substr(0, colon), port = rest.substr(colon + 1);
  asio::io_context ioc;
  beast::tcp_stream stream{ioc};
  asio::ip::tcp::resolver resolver{ioc};
  http::request<http::empty_body> req{http::verb::get, "/healthz", 11};
  req.set(http::field::host, rest);
  beast::flat_buffer buffer;
  http::response<http::string_body> res;
  bool done = false;
  stream.expires_after(std::chrono::milliseconds(timeout_ms));
  resolver.async_resolve(host, port, [&](beast::error_code ec, asio::ip::tcp::resolver::results_type eps) {
    if (ec)
      return;
    stream.async_connect(eps, [&](beast::error_code ec, auto) {
      if (ec)
        return;
      http::async_write(stream, req, [&](beast::error_code ec, std::size_t) {
        if (ec)
          return;
        http::async_read(stream, buffer, res, [&](beast::error_code ec, std::size_t) {
          done = !ec;
        });
      });
    });
  });
  ioc.run_for(std::chrono::milliseconds(timeout_ms + 100));
  if (!done || res.result() != http::status::ok)
    return std::nullopt;
  return std::move(res.body());
}

std::optional<relay_counters> fetch_relays(const std::string& ws_url, int timeout_ms) {
  auto body = fetch_healthz(ws_url, timeout_ms);
  if (!body)
    return std::nullopt;
  return parse_relays(*body);
}

std::vector<node_sample> sample_nodes(const std::vector<std::string>& ws_urls,
                                      const std::vector<int>& pids) {
  std::vector<node_sample> out(ws_urls.size());
  for (std::size_t i = 0; i < ws_urls.size(); ++i) {
    if (i < pids.size())
      out[i].cpu = sample_process(pids[i]);
    out[i].relays = fetch_relays(ws_urls[i]);
  }
  return out;
}

} // namespace chorus::bench
