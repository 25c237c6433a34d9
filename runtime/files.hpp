#pragma once
// File access for node bootstrap code (actors never touch the filesystem themselves).

#include "protocols/errc.hpp"
#include "runtime/text.hpp"

#include <caf/expected.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace fusion::runtime {

/// The whole content of the regular file at `path`; errc::invalid_config naming the path
/// if it does not exist, is not a regular file (a directory, a device, a FIFO) or cannot
/// be read. `what` names the file in messages ("config file", "manifest").
inline caf::expected<std::string> read_text_file(const std::string& path,
                                                 const std::string& what = "file") {
  namespace fs = std::filesystem;
  auto shown = echoed(path);
  std::error_code ec;
  auto st = fs::status(path, ec);
  if (st.type() == fs::file_type::not_found)
    return make_error(errc::invalid_config, shown + ": no such " + what + " (check the path)");
  if (!ec && st.type() == fs::file_type::directory)
    return make_error(errc::invalid_config,
                      shown + ": is a directory; expected a " + what + " (a regular file)");
  if (!ec && st.type() != fs::file_type::regular)
    return make_error(errc::invalid_config, shown + ": is not a regular file; expected a " + what);
  std::ifstream in{path, std::ios::binary};
  if (ec || !in)
    return make_error(errc::invalid_config,
                      shown + ": cannot open the " + what + " for reading (check the permissions)");
  std::ostringstream buf;
  buf << in.rdbuf();
  if (in.bad()) return make_error(errc::invalid_config, shown + ": read error");
  return buf.str();
}

}  // namespace fusion::runtime
