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

// A value or a small error code (an enum): the return type of the per-packet parsers,
// where a message string would be too costly.
template <class T, class E>
class value_or_error {
public:
  value_or_error(T value) : v_(std::in_place_index<0>, std::move(value)) {}
  value_or_error(E e) : v_(std::in_place_index<1>, e) {}

  bool ok() const noexcept { return v_.index() == 0; }
  explicit operator bool() const noexcept { return ok(); }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &std::get<0>(v_); }
  const T* operator->() const { return &std::get<0>(v_); }
  T& operator*() & { return std::get<0>(v_); }
  const T& operator*() const& { return std::get<0>(v_); }
  E error() const { return std::get<1>(v_); }

private:
  std::variant<T, E> v_;
};

} // namespace chorus
