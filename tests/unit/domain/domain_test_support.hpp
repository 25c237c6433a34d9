#pragma once
// Helpers shared by the domain tests: a temporary directory removed at scope exit, and the
// principals the tests act as.

#include "protocols/manifest.hpp"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

namespace fusion::test {

/// A fresh directory under /tmp, removed with everything in it when the object dies.
struct temp_dir {
  std::string path;
  temp_dir() {
    char tmpl[] = "/tmp/fusion-domain-XXXXXX";
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

/// Reads a whole file (demo manifests).
inline std::string read_text(const std::string& path) {
  std::ifstream in{path};
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline const protocols::principal acme{"acme", protocols::role::service_provider};
inline const protocols::principal evil{"evil", protocols::role::service_provider};
inline const protocols::principal root{"root", protocols::role::domain_admin};
inline const protocols::principal zone_ops{"zone-ops", protocols::role::zone_admin};
inline const protocols::principal other_ops{"other-ops", protocols::role::zone_admin};

}  // namespace fusion::test
