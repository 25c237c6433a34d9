#pragma once
// File access for node bootstrap code (actors never touch the filesystem themselves).

#include "protocols/errc.hpp"

#include <caf/expected.hpp>

#include <fstream>
#include <sstream>
#include <string>

namespace fusion::runtime {

/// The whole content of the text file at `path`; errc::invalid_config naming the path if it
/// cannot be read.
inline caf::expected<std::string> read_text_file(const std::string& path) {
  std::ifstream in{path, std::ios::binary};
  if (!in) return make_error(errc::invalid_config, path + ": cannot open the file for reading");
  std::ostringstream buf;
  buf << in.rdbuf();
  if (in.bad()) return make_error(errc::invalid_config, path + ": read error");
  return buf.str();
}

}  // namespace fusion::runtime
