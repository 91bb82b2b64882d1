// A fresh directory under the system's temporary directory for the files a unit test hands
// to the code under test, removed with everything in it when the object ends.
#pragma once

#include <stdlib.h> // mkdtemp

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <string>
#include <system_error>

namespace chorus::test {

struct temp_dir {
  std::filesystem::path path;

  temp_dir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "chorus-unit-XXXXXX").string();
    if (mkdtemp(tmpl.data()) == nullptr)
      throw std::system_error(errno, std::generic_category(), "mkdtemp " + tmpl);
    path = tmpl;
  }
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;

  // The path of `name` inside.
  std::string file(const std::string& name) const { return (path / name).string(); }

  // A new file inside holding `text`, named by a count; its name ends in `suffix`.
  std::string file_with(const std::string& text, const std::string& suffix = "") {
    std::string p = file(std::to_string(next_++) + suffix);
    std::ofstream{p} << text;
    return p;
  }

private:
  int next_ = 0;
};

} // namespace chorus::test
