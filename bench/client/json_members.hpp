// Reading a string member of a parsed rapidjson value, the one way the bench's clients do
// (the signaling participant, the class activity, the Janus client): a member that is
// absent or not a string, or a value that is not an object, reads as empty.
#pragma once

#include <rapidjson/document.h>

#include <string>
#include <string_view>

namespace chorus::client {

// A view into `v`'s storage: valid while the document lives.
inline std::string_view string_member(const rapidjson::Value& v, const char* key) {
  if (!v.IsObject())
    return {};
  auto it = v.FindMember(key);
  if (it == v.MemberEnd() || !it->value.IsString())
    return {};
  return {it->value.GetString(), it->value.GetStringLength()};
}

// The same, copied out.
inline std::string string_member_copy(const rapidjson::Value& v, const char* key) {
  return std::string(string_member(v, key));
}

} // namespace chorus::client
