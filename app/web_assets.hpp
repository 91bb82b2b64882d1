// Static pages compiled into the binary (generated from web/ by CMake).
#pragma once

#include <string_view>

namespace chorus::app {

// The page served at "/" (web/index.html).
std::string_view index_html();

} // namespace chorus::app
