#pragma once
// Signed domain advertisements (docs/gossip.md, "Trust"): a domain's orchestrator node signs
// its advertisement with its node identity; a member accepts an advertisement only with a
// valid signature by a key it trusts for that domain. A member that cannot prove the
// domain it claims is ignored, however widely its advertisement spreads.

#include "link/identity.hpp"
#include "protocols/gossip.hpp"

#include <map>
#include <set>
#include <string>

namespace fusion::gossip {

/// Keys trusted to advertise domains: by domain name, or for any domain under "*".
struct domain_trust {
  std::map<std::string, std::set<std::string>> keys;  ///< Domain → base64 public keys.
  /// Trusts `key` for `domain` ("*" = any domain).
  void allow(const std::string& domain, const std::string& key) { keys[domain].insert(key); }
  bool trusts(const std::string& domain, const std::string& key) const;
  bool empty() const { return keys.empty(); }
};

/// Fills `ad.public_key` and `ad.signature` (over every other field) with `id`.
void sign(protocols::domain_advertisement& ad, const link::identity& id);

/// "" if `ad` carries a valid signature by a key `trust` allows for its domain; else what
/// is wrong, for the log.
std::string verify(const protocols::domain_advertisement& ad, const domain_trust& trust);

}  // namespace fusion::gossip
