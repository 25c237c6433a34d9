#include "actors/gossip/advertisement.hpp"

#include <sodium.h>

#include <cstring>

namespace fusion::gossip {

namespace {

constexpr int b64 = sodium_base64_VARIANT_ORIGINAL;

// What is signed: every field but the signature, each length-prefixed so that no two
// advertisements share a byte string.
std::string signed_bytes(const protocols::domain_advertisement& ad) {
  std::string out = "fusion-domain-advertisement-v2";
  auto put = [&](const std::string& s) {
    out += std::to_string(s.size());
    out += ':';
    out += s;
  };
  auto num = [&](double d) {
    unsigned char b[sizeof d];
    std::memcpy(b, &d, sizeof d);
    out.append(reinterpret_cast<const char*>(b), sizeof b);
  };
  put(ad.domain);
  put(ad.zone_registry.node);
  put(ad.zone_registry.actor);
  put(ad.registrar.node);
  put(ad.registrar.actor);
  put(ad.node_id);
  put(std::to_string(ad.version));
  put(ad.routing_manager.node);
  put(ad.routing_manager.actor);
  num(ad.latitude);
  num(ad.longitude);
  put(ad.public_key);
  return out;
}

}  // namespace

bool domain_trust::trusts(const std::string& domain, const std::string& key) const {
  for (const auto* name : {&domain, static_cast<const std::string*>(nullptr)}) {
    auto it = keys.find(name ? *name : std::string{"*"});
    if (it != keys.end() && it->second.count(key) > 0) return true;
  }
  return false;
}

void sign(protocols::domain_advertisement& ad, const link::identity& id) {
  ad.public_key = id.public_key_text();
  auto bytes = signed_bytes(ad);
  unsigned char sig[link::signature_size];
  id.sign(sig, reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
  std::string text(sodium_base64_ENCODED_LEN(sizeof sig, b64), '\0');
  sodium_bin2base64(text.data(), text.size(), sig, sizeof sig, b64);
  text.resize(std::strlen(text.c_str()));
  ad.signature = std::move(text);
}

std::string verify(const protocols::domain_advertisement& ad, const domain_trust& trust) {
  if (ad.signature.empty()) return "unsigned advertisement of domain " + ad.domain;
  auto pk = link::parse_public_key(ad.public_key);
  if (!pk) return "advertisement of domain " + ad.domain + ": malformed public key";
  if (!trust.trusts(ad.domain, ad.public_key))
    return "advertisement of domain " + ad.domain + " signed by untrusted key " + ad.public_key;
  unsigned char sig[link::signature_size];
  size_t len = 0;
  if (sodium_base642bin(sig, sizeof sig, ad.signature.data(), ad.signature.size(), nullptr, &len,
                        nullptr, b64) != 0 ||
      len != sizeof sig)
    return "advertisement of domain " + ad.domain + ": malformed signature";
  auto bytes = signed_bytes(ad);
  if (!link::verify(*pk, sig, reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size()))
    return "advertisement of domain " + ad.domain + ": signature does not match";
  return "";
}

}  // namespace fusion::gossip
