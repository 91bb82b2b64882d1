#include "app/option_kinds.hpp"

#include "common/text.hpp"

#include <algorithm>

namespace chorus::app::option_kind {

option blank(std::string_view key, std::string_view flag, std::string_view arg,
             std::string_view help) {
  option o;
  o.key = key;
  o.flag = flag;
  o.arg = arg;
  o.help = help;
  return o;
}

std::string quoted(const std::string& s) { return "\"" + s + "\""; }

std::string shown_list(const std::vector<std::string>& list) {
  std::string out = "[";
  for (auto& s : list)
    out += (out.size() > 1 ? ", " : "") + quoted(s);
  return out + "]";
}

bool any_value(std::string_view) { return true; }
bool not_empty(std::string_view v) { return !v.empty(); }
bool a_label(std::string_view v) { return text::valid_label(v); }

std::string range_text(uint64_t min, uint64_t max) {
  return "from " + std::to_string(min) + " to " + std::to_string(max);
}

option string_option(std::string_view key, std::string_view flag, std::string_view arg,
                     std::string_view help, field<std::string> at, bool (*ok)(std::string_view),
                     std::string expects) {
  option o = blank(key, flag, arg, help);
  o.from_json = [at](const json_in& in, config& c) -> std::string {
    if (!in.value.IsString())
      return "must be a string";
    at(c).assign(in.value.GetString(), in.value.GetStringLength());
    return {};
  };
  o.expects = expects;
  o.from_flag = [at, ok, expects](std::string_view v, config& c) -> std::string {
    if (!ok(v))
      return "expects " + expects;
    at(c) = std::string(v);
    return {};
  };
  o.show = [at](const config& c) { return quoted(read_only(at, c)); };
  return o;
}

option file_string(std::string_view key, std::string_view help, field<std::string> at) {
  auto o = string_option(key, {}, {}, help, at, any_value, {});
  o.from_flag = nullptr;
  return o;
}

option choice_option(std::string_view key, std::string_view flag, std::string_view arg,
                     std::string_view help, field<std::string> at,
                     std::vector<std::string_view> words) {
  std::string expects;
  for (size_t i = 0; i < words.size(); ++i)
    expects += std::string(i == 0 ? "" : i + 1 == words.size() ? " or " : ", ") +
               std::string(words[i]);
  auto o = string_option(key, flag, arg, help, at, any_value, expects);
  o.from_flag = [at, words, expects](std::string_view v, config& c) -> std::string {
    if (std::find(words.begin(), words.end(), v) == words.end())
      return "expects " + expects;
    at(c) = std::string(v);
    return {};
  };
  return o;
}

option bool_option(std::string_view key, std::string_view flag, bool_flag style,
                   std::string_view help, field<bool> at) {
  option o = blank(key, flag, style == bool_flag::on_off ? "on|off" : "", help);
  o.from_json = [at](const json_in& in, config& c) -> std::string {
    if (!in.value.IsBool())
      return "must be true or false";
    at(c) = in.value.GetBool();
    return {};
  };
  if (style == bool_flag::set_true)
    o.from_flag = [at](std::string_view, config& c) -> std::string {
      at(c) = true;
      return {};
    };
  else if (style == bool_flag::on_off)
    o.expects = "on or off", o.from_flag = [at](std::string_view v, config& c) -> std::string {
      if (v != "on" && v != "off")
        return "expects on or off";
      at(c) = v == "on";
      return {};
    };
  o.show = [at](const config& c) { return std::string(read_only(at, c) ? "true" : "false"); };
  return o;
}

option list_option(std::string_view key, std::string_view flag, std::string_view arg,
                   std::string_view help, field<std::vector<std::string>> at,
                   std::string json_expects, std::string flag_expects,
                   std::string (*check)(const std::vector<std::string>&)) {
  option o = blank(key, flag, arg, help);
  o.from_json = [at, json_expects, check](const json_in& in, config& c) -> std::string {
    if (!in.value.IsArray())
      return "must be " + json_expects;
    std::vector<std::string> list;
    for (auto& v : in.value.GetArray()) {
      if (!v.IsString())
        return "must be " + json_expects;
      list.emplace_back(v.GetString(), v.GetStringLength());
    }
    if (check)
      if (auto bad = check(list); !bad.empty())
        return bad;
    at(c) = std::move(list);
    return {};
  };
  o.expects = flag_expects;
  if (!flag.empty())
    o.from_flag = [at, flag_expects, check](std::string_view v, config& c) -> std::string {
      auto list = text::split_list(v);
      if (check)
        if (auto bad = check(list); !bad.empty())
          return bad;
      at(c) = std::move(list);
      return {};
    };
  o.show = [at](const config& c) { return shown_list(read_only(at, c)); };
  return o;
}

option formatted_option(std::string_view key, std::string_view flag, std::string_view arg,
                        std::string_view help, std::string expects,
                        bool (*parse)(std::string_view, config&),
                        std::string (*show)(const config&)) {
  option o = blank(key, flag, arg, help);
  o.from_json = [parse, expects](const json_in& in, config& c) -> std::string {
    if (!in.value.IsString())
      return "must be a string";
    std::string_view v{in.value.GetString(), in.value.GetStringLength()};
    if (!v.empty() && !parse(v, c))
      return "must be " + expects;
    return {};
  };
  o.expects = expects;
  o.from_flag = [parse, expects](std::string_view v, config& c) -> std::string {
    return parse(v, c) ? std::string{} : "expects " + expects;
  };
  o.show = show;
  return o;
}

} // namespace chorus::app::option_kind
