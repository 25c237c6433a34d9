#pragma once
// Service manifests in YAML (§4.2, docs/manifests.md): strict parsing and validation into
// protocols::manifest. Every error names the file, the 1-based line, the key path, what is
// wrong and what is expected, so a provider can fix the manifest without reading code.

#include "protocols/manifest.hpp"

#include <caf/expected.hpp>

#include <cstddef>
#include <string>

namespace fusion::runtime {

/// Largest manifest text accepted, in bytes (bounded before parsing; same as the wire's
/// string limit so every accepted manifest can travel and be stored).
inline constexpr size_t max_manifest_bytes = 256 * 1024;

/// Largest number of entries in any manifest list (keywords, channels, zones, ...).
inline constexpr size_t max_manifest_list = 1024;

/// Parses and validates a YAML manifest. `source` names the text in errors
/// ("transcoder.yaml:14: deployment.hardware.gpus: ..."). Every failure is
/// errc::invalid_manifest; never throws.
caf::expected<protocols::manifest> parse_manifest(const std::string& yaml_text,
                                                  const std::string& source = "manifest");

}  // namespace fusion::runtime
