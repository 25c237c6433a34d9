#pragma once
// File helpers for tests: a temporary directory removed at scope exit, whole-file reads.

#include "runtime/files.hpp"

#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>

namespace fusion::test {

/// A fresh directory under /tmp, removed with everything in it when the object dies.
struct temp_dir {
  std::string path;
  temp_dir() {
    char tmpl[] = "/tmp/fusion-test-XXXXXX";
    if (mkdtemp(tmpl) == nullptr) throw std::runtime_error("mkdtemp failed");
    path = tmpl;
  }
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  /// Path of `name` inside the directory.
  std::string file(const std::string& name) const { return path + "/" + name; }
};

/// Reads a whole file (demo manifests); "" if it cannot be read.
inline std::string read_text(const std::string& path) {
  auto text = runtime::read_text_file(path);
  return text ? std::move(*text) : std::string{};
}

}  // namespace fusion::test
