// Static pages compiled into the binary (generated from web/ by CMake).
#pragma once

#include <string_view>

namespace chorus::app {

// The page served at "/" (web/index.html).
std::string_view index_html();
// "/app.js": web/app.js bundled with mediasoup-client and socket.io-client.
std::string_view app_js();
// False when the bundle is the stub that explains how to build it.
bool app_js_built();

} // namespace chorus::app
