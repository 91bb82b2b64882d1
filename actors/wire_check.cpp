#include "actors/wire_check.hpp"

#include <caf/actor_system.hpp>
#include <caf/error.hpp>
#include <caf/message.hpp>
#include <caf/serializer.hpp>

#include <cmath>

namespace chorus::actors {

namespace {

// Walks a message as a serializer would, writing nothing and remembering a non-finite value.
class finite_walker final : public caf::serializer {
public:
  explicit finite_walker(caf::actor_system& sys) : caf::serializer(sys) {}

  bool finite = true;

  caf::error begin_object(uint16_t&, std::string&) override { return {}; }
  caf::error end_object() override { return {}; }
  caf::error begin_sequence(size_t&) override { return {}; }
  caf::error end_sequence() override { return {}; }
  caf::error apply_raw(size_t, void*) override { return {}; }

protected:
  caf::error apply_impl(int8_t&) override { return {}; }
  caf::error apply_impl(uint8_t&) override { return {}; }
  caf::error apply_impl(int16_t&) override { return {}; }
  caf::error apply_impl(uint16_t&) override { return {}; }
  caf::error apply_impl(int32_t&) override { return {}; }
  caf::error apply_impl(uint32_t&) override { return {}; }
  caf::error apply_impl(int64_t&) override { return {}; }
  caf::error apply_impl(uint64_t&) override { return {}; }
  caf::error apply_impl(float& x) override { return check(x); }
  caf::error apply_impl(double& x) override { return check(x); }
  caf::error apply_impl(long double& x) override { return check(x); }
  caf::error apply_impl(std::string&) override { return {}; }
  caf::error apply_impl(std::u16string&) override { return {}; }
  caf::error apply_impl(std::u32string&) override { return {}; }

private:
  template <class T>
  caf::error check(T x) {
    if (!std::isfinite(x))
      finite = false;
    return {};
  }
};

} // namespace

bool writable(caf::actor_system& sys, const caf::message& msg) {
  finite_walker walker{sys};
  if (auto err = msg.save(walker))
    return false;
  return walker.finite;
}

caf::error writable(caf::actor_system& sys, caf::error err) {
  if (!err || writable(sys, err.context()))
    return err;
  return caf::error{err.code(), err.category()};
}

} // namespace chorus::actors
