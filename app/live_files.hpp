// GET /live/ROOM/index.m3u8 and /live/ROOM/segment_N.ts: the HLS files a room's live stream
// writes under live.directory (actors/live_streamer.hpp), for players on any origin. Only
// those two names are served (nothing else in the directory, nothing outside it); the
// playlist is not cached, the segments are (they never change).
#pragma once

#include "net/http_server.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace chorus::app {

inline constexpr std::string_view live_prefix = "/live/";

// The answer to a request under live_prefix; nullopt for any other path.
std::optional<net::http_response> live_files(const net::http_request_info& req,
                                             const std::string& live_directory);

} // namespace chorus::app
