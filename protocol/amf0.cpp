#include "protocol/amf0.hpp"

#include <algorithm>
#include <bit>
#include <cstring>

namespace chorus::protocol {

namespace {

enum marker : uint8_t {
  m_number = 0x00,
  m_boolean = 0x01,
  m_string = 0x02,
  m_object = 0x03,
  m_null = 0x05,
  m_undefined = 0x06,
  m_ecma_array = 0x08,
  m_object_end = 0x09,
  m_strict_array = 0x0a,
  m_date = 0x0b,
  m_long_string = 0x0c,
};

class reader {
public:
  explicit reader(std::span<const uint8_t> b) : b_(b) {}
  bool done() const { return at_ == b_.size(); }

  result<amf0_value> value(std::size_t depth) {
    if (depth > max_amf0_depth)
      return failure{"AMF0 nesting deeper than " + std::to_string(max_amf0_depth)};
    uint8_t m = 0;
    if (!take(m))
      return failure{"AMF0 value cut short"};
    amf0_value v;
    switch (m) {
      case m_number:
        v.type = amf0_value::kind::number;
        if (!take_double(v.number))
          return failure{"AMF0 number cut short"};
        return v;
      case m_boolean: {
        uint8_t b = 0;
        if (!take(b))
          return failure{"AMF0 boolean cut short"};
        v.type = amf0_value::kind::boolean;
        v.boolean = b != 0;
        return v;
      }
      case m_string:
      case m_long_string: {
        v.type = amf0_value::kind::string;
        if (!take_text(m == m_long_string ? 4 : 2, v.text))
          return failure{"AMF0 string cut short"};
        return v;
      }
      case m_null: v.type = amf0_value::kind::null; return v;
      case m_undefined: v.type = amf0_value::kind::undefined; return v;
      case m_date: {
        v.type = amf0_value::kind::number;
        uint8_t tz[2];
        if (!take_double(v.number) || !take(tz[0]) || !take(tz[1]))
          return failure{"AMF0 date cut short"};
        return v;
      }
      case m_ecma_array: {
        uint32_t count_hint = 0; // the count is advisory: members run to the end marker
        if (!take_u32(count_hint))
          return failure{"AMF0 ECMA array cut short"};
        [[fallthrough]];
      }
      case m_object: {
        v.type = amf0_value::kind::object;
        for (;;) {
          std::string name;
          if (!take_text(2, name))
            return failure{"AMF0 object cut short"};
          if (name.empty()) {
            uint8_t end = 0;
            if (!take(end) || end != m_object_end)
              return failure{"AMF0 object without its end marker"};
            return v;
          }
          if (v.members.size() >= max_amf0_members)
            return failure{"AMF0 object with over " + std::to_string(max_amf0_members) + " members"};
          auto member = value(depth + 1);
          if (!member)
            return member;
          v.names.push_back(std::move(name));
          v.members.push_back(std::move(*member));
        }
      }
      case m_strict_array: {
        uint32_t count = 0;
        if (!take_u32(count))
          return failure{"AMF0 array cut short"};
        if (count > max_amf0_members)
          return failure{"AMF0 array with over " + std::to_string(max_amf0_members) + " items"};
        v.type = amf0_value::kind::array;
        for (uint32_t i = 0; i < count; ++i) {
          auto item = value(depth + 1);
          if (!item)
            return item;
          v.members.push_back(std::move(*item));
        }
        return v;
      }
      default:
        return failure{"AMF0 marker " + std::to_string(m) + " is not supported"};
    }
  }

private:
  bool take(uint8_t& out) {
    if (at_ >= b_.size())
      return false;
    out = b_[at_++];
    return true;
  }
  bool take_u32(uint32_t& out) {
    if (b_.size() - at_ < 4)
      return false;
    out = (uint32_t{b_[at_]} << 24) | (uint32_t{b_[at_ + 1]} << 16) | (uint32_t{b_[at_ + 2]} << 8) |
          b_[at_ + 3];
    at_ += 4;
    return true;
  }
  bool take_double(double& out) {
    if (b_.size() - at_ < 8)
      return false;
    uint64_t bits = 0;
    for (int i = 0; i < 8; ++i)
      bits = (bits << 8) | b_[at_ + i];
    at_ += 8;
    out = std::bit_cast<double>(bits);
    return true;
  }
  bool take_text(int length_bytes, std::string& out) {
    if (b_.size() - at_ < static_cast<std::size_t>(length_bytes))
      return false;
    std::size_t n = 0;
    for (int i = 0; i < length_bytes; ++i)
      n = (n << 8) | b_[at_ + i];
    at_ += length_bytes;
    if (b_.size() - at_ < n)
      return false;
    out.assign(reinterpret_cast<const char*>(b_.data() + at_), n);
    at_ += n;
    return true;
  }

  std::span<const uint8_t> b_;
  std::size_t at_ = 0;
};

void put_u16(std::vector<uint8_t>& out, std::size_t n) {
  out.push_back(static_cast<uint8_t>(n >> 8));
  out.push_back(static_cast<uint8_t>(n));
}

void put_u32(std::vector<uint8_t>& out, std::size_t n) {
  for (int shift = 24; shift >= 0; shift -= 8)
    out.push_back(static_cast<uint8_t>(n >> shift));
}

void put_text(std::vector<uint8_t>& out, std::string_view s) {
  // A name or short string is at most 65535 bytes; longer text is cut there.
  const std::size_t n = std::min<std::size_t>(s.size(), 0xffff);
  put_u16(out, n);
  out.insert(out.end(), s.begin(), s.begin() + static_cast<std::ptrdiff_t>(n));
}

} // namespace

amf0_value amf0_value::of(double n) {
  amf0_value v;
  v.type = kind::number;
  v.number = n;
  return v;
}

amf0_value amf0_value::of(std::string_view s) {
  amf0_value v;
  v.type = kind::string;
  v.text = std::string(s);
  return v;
}

amf0_value amf0_value::of_bool(bool b) {
  amf0_value v;
  v.type = kind::boolean;
  v.boolean = b;
  return v;
}

amf0_value amf0_value::null_value() { return amf0_value{}; }

amf0_value amf0_value::object(std::vector<std::string> names, std::vector<amf0_value> members) {
  amf0_value v;
  v.type = kind::object;
  v.names = std::move(names);
  v.members = std::move(members);
  return v;
}

const amf0_value* amf0_value::member(std::string_view name) const {
  if (type != kind::object)
    return nullptr;
  for (std::size_t i = 0; i < names.size() && i < members.size(); ++i)
    if (names[i] == name)
      return &members[i];
  return nullptr;
}

std::string amf0_value::text_of(std::string_view name) const {
  const auto* m = member(name);
  return m && m->type == kind::string ? m->text : std::string{};
}

result<std::vector<amf0_value>> read_amf0(std::span<const uint8_t> bytes) {
  reader r(bytes);
  std::vector<amf0_value> out;
  while (!r.done()) {
    if (out.size() >= max_amf0_members)
      return failure{"AMF0 message with over " + std::to_string(max_amf0_members) + " values"};
    auto v = r.value(0);
    if (!v)
      return failure{v.error()};
    out.push_back(std::move(*v));
  }
  return out;
}

void write_amf0(const amf0_value& v, std::vector<uint8_t>& out) {
  switch (v.type) {
    case amf0_value::kind::number: {
      out.push_back(m_number);
      const auto bits = std::bit_cast<uint64_t>(v.number);
      for (int shift = 56; shift >= 0; shift -= 8)
        out.push_back(static_cast<uint8_t>(bits >> shift));
      return;
    }
    case amf0_value::kind::boolean:
      out.push_back(m_boolean);
      out.push_back(v.boolean ? 1 : 0);
      return;
    case amf0_value::kind::string:
      if (v.text.size() > 0xffff) {
        out.push_back(m_long_string);
        put_u32(out, v.text.size());
        out.insert(out.end(), v.text.begin(), v.text.end());
      } else {
        out.push_back(m_string);
        put_text(out, v.text);
      }
      return;
    case amf0_value::kind::object:
      out.push_back(m_object);
      for (std::size_t i = 0; i < v.names.size() && i < v.members.size(); ++i) {
        put_text(out, v.names[i]);
        write_amf0(v.members[i], out);
      }
      put_u16(out, 0);
      out.push_back(m_object_end);
      return;
    case amf0_value::kind::null: out.push_back(m_null); return;
    case amf0_value::kind::undefined: out.push_back(m_undefined); return;
    case amf0_value::kind::array:
      out.push_back(m_strict_array);
      put_u32(out, v.members.size());
      for (const auto& m : v.members)
        write_amf0(m, out);
      return;
  }
}

} // namespace chorus::protocol
