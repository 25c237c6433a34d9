#pragma once
// Text shown to people in error messages.

#include <cstddef>
#include <string>
#include <string_view>

namespace fusion::runtime {

/// Longest value an error message echoes whole.
inline constexpr size_t max_echoed_chars = 80;

/// The first max_echoed_chars bytes of `s` (fewer if that would split a UTF-8 sequence).
inline std::string_view echoed_head(std::string_view s) {
  if (s.size() <= max_echoed_chars) return s;
  size_t n = max_echoed_chars;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  return s.substr(0, n);
}

/// `s` as an error message echoes it: whole up to max_echoed_chars, else its first
/// max_echoed_chars characters, "..." and its length ("abc... (52428800 bytes)"), so a
/// 50 MB value never becomes a 50 MB message.
/// The cut never splits a UTF-8 sequence.
inline std::string echoed(std::string_view s) {
  if (s.size() <= max_echoed_chars) return std::string{s};
  return std::string{echoed_head(s)} + "... (" + std::to_string(s.size()) + " bytes)";
}

}  // namespace fusion::runtime
