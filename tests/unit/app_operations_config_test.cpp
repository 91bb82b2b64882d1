// The operator's options: logFormat, admin.*, webhooks.*, drain.*, metrics.*:
// defaults, keys, flags, and the failures that name the option.
#include "app/config.hpp"

#include "temp_dir.hpp"

#include <doctest/doctest.h>

#include <fstream>
#include <string>
#include <vector>

using namespace chorus;

namespace {

result<app::cli_result> parse_args(std::vector<std::string> args) {
  std::vector<const char*> argv{"chorus"};
  for (auto& a : args)
    argv.push_back(a.c_str());
  return app::parse_command_line(static_cast<int>(argv.size()), argv.data());
}

std::string file_with(const std::string& text) {
  static test::temp_dir dir; // the suite's, removed when it ends
  return dir.file_with(text);
}

} // namespace

TEST_CASE("operations: defaults are off") {
  app::config c;
  CHECK(c.log_format == "text");
  CHECK(c.admin.listen.empty());
  CHECK_FALSE(c.webhooks.enabled());
  CHECK(c.drain.timeout_ms == 0);
  CHECK_FALSE(c.metrics.per_room);
}

TEST_CASE("operations: keys and flags") {
  auto token = file_with("0123456789abcdef0123\n");
  auto cfg = app::apply_config_json(
    R"({"logFormat":"json","admin":{"listen":"127.0.0.1:9001","tokenFile":")" + token +
      R"("},"webhooks":{"urls":["http://127.0.0.1:9/h"],"key":"k","queueSize":10,"maxAttempts":2,"timeoutMs":300},"drain":{"timeoutMs":5000},"metrics":{"perRoom":true}})",
    app::config{});
  REQUIRE_MESSAGE(cfg.ok(), (cfg.ok() ? "" : cfg.error()));
  CHECK(app::validate(*cfg).ok());
  CHECK(cfg->log_format == "json");
  CHECK(cfg->admin.listen == "127.0.0.1:9001");
  CHECK(cfg->webhooks.urls == std::vector<std::string>{"http://127.0.0.1:9/h"});
  CHECK(cfg->webhooks.queue_size == 10);
  CHECK(cfg->webhooks.max_attempts == 2);
  CHECK(cfg->webhooks.timeout.count() == 300);
  CHECK(cfg->drain.timeout_ms == 5000);
  CHECK(cfg->metrics.per_room);
  auto r = parse_args({"--log-format", "json", "--admin-listen", "127.0.0.1:0",
                       "--admin-token-file", token, "--drain-timeout-ms", "1000"});
  REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.error()));
  CHECK(r->cfg.log_format == "json");
  CHECK(r->cfg.drain.timeout_ms == 1000);
}

TEST_CASE("operations: failures name the option") {
  auto short_token = file_with("short\n");
  struct row {
    const char* name;
    std::vector<std::string> args;
    const char* option;
  };
  const row rows[] = {
    {"log format", {"--log-format", "xml"}, "--log-format"},
    {"admin without token", {"--admin-listen", "127.0.0.1:9001"}, "admin.tokenFile"},
    {"admin token too short", {"--admin-listen", "127.0.0.1:9001", "--admin-token-file", short_token}, "admin.tokenFile"},
    {"admin token missing", {"--admin-listen", "127.0.0.1:9001", "--admin-token-file", "/nonexistent/t"}, "admin.tokenFile"},
    {"admin listen not an address", {"--admin-listen", "localhost:9001", "--admin-token-file", short_token}, "admin.listen"},
    {"drain too long", {"--drain-timeout-ms", "86400001"}, "--drain-timeout-ms"},
  };
  for (auto& r : rows) {
    CAPTURE(r.name);
    auto res = parse_args(r.args);
    REQUIRE_FALSE(res.ok());
    CHECK(res.error().find(r.option) != std::string::npos);
  }
  auto bad_key = app::apply_config_json(R"({"webhooks":{"url":"x"}})", app::config{});
  REQUIRE_FALSE(bad_key.ok());
  CHECK(bad_key.error().find("webhooks.url") != std::string::npos);
  auto bad_bool = app::apply_config_json(R"({"metrics":{"perRoom":1}})", app::config{});
  REQUIRE_FALSE(bad_bool.ok());
  CHECK(bad_bool.error().find("metrics.perRoom") != std::string::npos);
}
