#include "app/live_files.hpp"

#include "protocol/live_stream.hpp"

#include <filesystem>
#include <fstream>
#include <sstream>

namespace chorus::app {

namespace {

constexpr std::size_t max_file_bytes = 64u << 20;

bool segment_name(std::string_view name) {
  constexpr std::string_view head = "segment_", tail = ".ts";
  if (name.size() <= head.size() + tail.size() || name.size() > 32 ||
      name.substr(0, head.size()) != head || name.substr(name.size() - tail.size()) != tail)
    return false;
  for (char c : name.substr(head.size(), name.size() - head.size() - tail.size()))
    if (c < '0' || c > '9')
      return false;
  return true;
}

net::http_response not_found() {
  return net::json_error(404, "not-found", "no such live stream file");
}

} // namespace

std::optional<net::http_response> live_files(const net::http_request_info& req,
                                             const std::string& live_directory) {
  std::string_view path = req.path;
  if (path.substr(0, live_prefix.size()) != live_prefix)
    return std::nullopt;
  if (req.method != "GET" && req.method != "HEAD")
    return net::json_error(405, "method-not-allowed", "live stream files are read with GET");
  if (live_directory.empty())
    return net::json_error(404, "not-found", "live streaming is off (live.directory)");
  path.remove_prefix(live_prefix.size());
  const auto slash = path.find('/');
  if (slash == std::string_view::npos)
    return not_found();
  std::string room;
  if (!net::url_decode(std::string(path.substr(0, slash)), room) || room.empty())
    return not_found();
  const auto name = path.substr(slash + 1);
  const bool playlist = name == "index.m3u8";
  if (!playlist && !segment_name(name))
    return not_found();
  const auto file = std::filesystem::path(protocol::live_room_directory(live_directory, room)) /
                    std::string(name);
  std::ifstream in(file, std::ios::binary);
  if (!in)
    return not_found();
  std::string body;
  std::ostringstream text;
  text << in.rdbuf();
  body = text.str();
  if (body.size() > max_file_bytes)
    return net::json_error(500, "internal", "live stream file too large");
  net::http_response r{200,
                       playlist ? "application/vnd.apple.mpegurl" : "video/mp2t",
                       req.method == "HEAD" ? std::string() : std::move(body),
                       {{"Access-Control-Allow-Origin", "*"},
                        {"Cache-Control", playlist ? "no-cache" : "max-age=3600"}}};
  return r;
}

} // namespace chorus::app
