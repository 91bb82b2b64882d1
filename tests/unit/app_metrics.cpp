// The Prometheus text of GET /metrics.
#include "app/metrics.hpp"

#include <doctest/doctest.h>

using chorus::app::metric;

TEST_CASE("metrics: HELP and TYPE once per name, labels, integers and fractions") {
  std::vector<metric> m{
    {"chorus_rooms", "Rooms.", "gauge", "", 3},
    {"chorus_refused_total", "Refusals, by reason.", "counter", "reason=\"origin\"", 2},
    {"chorus_refused_total", "", "counter", "reason=\"per_ip\"", 0},
    {"process_cpu_seconds_total", "CPU.", "counter", "", 1.25},
  };
  CHECK(chorus::app::prometheus_text(m) ==
        "# HELP chorus_rooms Rooms.\n"
        "# TYPE chorus_rooms gauge\n"
        "chorus_rooms 3\n"
        "# HELP chorus_refused_total Refusals, by reason.\n"
        "# TYPE chorus_refused_total counter\n"
        "chorus_refused_total{reason=\"origin\"} 2\n"
        "chorus_refused_total{reason=\"per_ip\"} 0\n"
        "# HELP process_cpu_seconds_total CPU.\n"
        "# TYPE process_cpu_seconds_total counter\n"
        "process_cpu_seconds_total 1.25\n");
  CHECK(chorus::app::prometheus_text({}).empty());
}

TEST_CASE("metrics: this process's own figures") {
  auto p = chorus::app::read_process_stats();
  CHECK(p.resident_bytes > 0);
  CHECK(p.open_fds >= 3); // stdin, stdout, stderr at least
  CHECK(p.max_fds >= p.open_fds);
  CHECK(p.cpu_seconds >= 0);
}
