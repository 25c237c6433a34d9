#pragma once
// Service manifests in YAML (§4.2, docs/manifests.md): strict parsing and validation into
// protocols::manifest. Every error names the file, the 1-based line, the key path, what is
// wrong and what is expected, so a provider can fix the manifest without reading code.

#include "protocols/manifest.hpp"

#include <caf/expected.hpp>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

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

/// The metric of a zone's elasticity rules: the share of a service's session slots in use
/// over its instances in the zone, 0 to 1 (docs/slots.md, "Scaling").
inline constexpr std::string_view slot_utilisation = "slot_utilisation";

/// A service's elasticity rules, from its manifest's slot_utilisation thresholds:
/// `{metric: slot_utilisation, max: 0.8, action: scale_out}` starts an instance above 80%,
/// `{metric: slot_utilisation, min: 0.3, action: scale_in}` reclaims one below 30%. The
/// parser checks there is at most one of each, within 0 to 1, and scale_in below scale_out.
struct scaling_rules {
  std::optional<double> scale_out;  ///< Start an instance above this utilisation.
  std::optional<double> scale_in;   ///< Reclaim an instance below this utilisation.
};

/// The rules of a parsed manifest (none if it sets no slot_utilisation threshold).
scaling_rules scaling_rules_of(const protocols::manifest& m);

}  // namespace fusion::runtime
