// The real offers of tests/fixtures/sdp/ (see its README), read whole.
#pragma once

#include <doctest/doctest.h>

#include <fstream>
#include <sstream>
#include <string>

inline std::string read_sdp_fixture(const std::string& name) {
  std::ifstream f(std::string{CHORUS_SOURCE_DIR} + "/tests/fixtures/sdp/" + name, std::ios::binary);
  REQUIRE(f);
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}
