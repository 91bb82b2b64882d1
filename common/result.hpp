// A value or an error message: the return type of pure functions that can fail.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace chorus {

struct failure {
  std::string message;
};

template <class T>
class result {
public:
  result(T value) : v_(std::in_place_index<0>, std::move(value)) {}
  result(failure f) : v_(std::in_place_index<1>, std::move(f)) {}

  bool ok() const noexcept { return v_.index() == 0; }
  explicit operator bool() const noexcept { return ok(); }

  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &std::get<0>(v_); }
  const T* operator->() const { return &std::get<0>(v_); }
  T& operator*() & { return std::get<0>(v_); }
  const T& operator*() const& { return std::get<0>(v_); }

  const std::string& error() const { return std::get<1>(v_).message; }

private:
  std::variant<T, failure> v_;
};

} // namespace chorus
