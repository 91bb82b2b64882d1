// A field of a counters struct as GET /metrics shows it. Each struct that GET /metrics reads
// declares its list of these beside it (app/node_metrics.cpp renders the lists): the
// family's name, its help (on the family's first series; "" on the others, which follow it
// directly, as the exposition format wants a family's series together), its type, the
// series' labels, and the field.
#pragma once

#include <atomic>
#include <cstdint>

namespace chorus {

enum class metric_type : uint8_t { counter, gauge };

template <class Struct, class Value>
struct metric_field {
  const char* name;
  const char* help;
  metric_type type;
  const char* labels; // "" or key="value"
  Value Struct::*field;
};

inline constexpr const char* to_string(metric_type t) {
  return t == metric_type::counter ? "counter" : "gauge";
}

// A field's value as a sample.
template <class T>
double metric_value(const std::atomic<T>& a) {
  return double(a.load(std::memory_order_relaxed));
}
template <class T>
double metric_value(const T& v) {
  return double(v);
}

} // namespace chorus
