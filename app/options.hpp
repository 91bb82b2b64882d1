// The configuration options, each declared once (app/options.cpp): its key in the JSON
// file, its command-line flag, the name of its value, its help, and how a value is read
// from the file or from the flag and shown. Everything else comes from this table: reading
// files and flags (app/config.cpp), --help, the check that conf/chorus.json lists every
// option with its default, and the options table of docs/operations.md (chorus
// --help-markdown prints it).
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace chorus::app {

struct config;

// One value of the JSON file (RapidJSON's, wrapped where app/options.cpp reads it, so that
// this header does not name RapidJSON).
struct json_in;

struct option {
  std::string_view key;  // dotted path in the file ("rtc.ioThreads"); empty: a flag only
  std::string_view flag; // "--io-threads"; empty: the file only
  std::string_view arg;  // the flag's value as --help names it ("N"); empty: a switch
  std::string_view help; // what it does, without its default (that is shown from config{})
  // Reads the file's value into the configuration: "" or what is wrong ("must be ...").
  std::function<std::string(const json_in&, config&)> from_json;
  // Reads the flag's value (a switch gets ""): "" or what it expects ("expects ...").
  std::function<std::string(std::string_view, config&)> from_flag;
  // What the flag's value must be ("a COUNT from 0 to 64"), for the error of a flag without one.
  std::string expects;
  // The value as --help and the docs show it ("" : not set).
  std::function<std::string(const config&)> show;
  // Left out of conf/chorus.json on purpose: a test switch or an old name.
  bool unlisted = false;
};

const std::vector<option>& options();

// The option with this key or flag; nullptr when there is none.
const option* find_option_by_key(std::string_view key);
const option* find_option_by_flag(std::string_view flag);

// The JSON sections ("rtc", "signaling", ...): the keys whose options sit one level down.
bool is_option_section(std::string_view name);

// The options as a Markdown table (key, flag, default, meaning): docs/operations.md holds it.
std::string options_markdown();

} // namespace chorus::app
