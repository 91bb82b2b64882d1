// The JSON value behind app/options.hpp's json_in: RapidJSON's, for the two files that
// read configuration files (app/options.cpp, app/config.cpp).
#pragma once

#include "app/options.hpp"

#include <rapidjson/document.h>

namespace chorus::app {

struct json_in {
  const rapidjson::Value& value;
};

} // namespace chorus::app
