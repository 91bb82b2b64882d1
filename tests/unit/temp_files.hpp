// Files a unit test writes for the code under test to read: in one directory of the suite's
// own under the system's temporary directory, removed with everything in it when the suite
// ends.
#pragma once

#include <stdlib.h> // mkdtemp

#include <filesystem>
#include <fstream>
#include <string>
#include <system_error>

namespace chorus::test {

class temp_files {
public:
  // A new file holding `text`; its name ends in `suffix`.
  static std::string with(const std::string& text, const std::string& suffix = "") {
    auto& t = instance();
    std::string path = t.dir_ + "/" + std::to_string(t.next_++) + suffix;
    std::ofstream{path} << text;
    return path;
  }

  temp_files(const temp_files&) = delete;
  temp_files& operator=(const temp_files&) = delete;

private:
  temp_files() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "chorus-unit-XXXXXX").string();
    if (mkdtemp(tmpl.data()) == nullptr)
      throw std::system_error(errno, std::generic_category(), "mkdtemp " + tmpl);
    dir_ = tmpl;
  }
  ~temp_files() {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  static temp_files& instance() {
    static temp_files t;
    return t;
  }

  std::string dir_;
  int next_ = 0;
};

} // namespace chorus::test
