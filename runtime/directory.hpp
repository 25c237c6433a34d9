#pragma once
// The actor directory: resolves a locator's actor name to a handle. Every role registers
// under a stable name ("zone/edge-1", "domain/registrar"); peers find each other through
// locators in protocol messages, never through each other's internals. In-process, this
// is a thread-safe map; the node link layer resolves remote locators to proxies.

#include "protocols/common.hpp"

#include <caf/actor.hpp>
#include <caf/actor_cast.hpp>

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace fusion::runtime {

/// Name → actor handle map shared by the actors of one process.
class directory {
 public:
  /// Registers (or replaces) `name`.
  void put(const std::string& name, caf::actor handle) {
    std::lock_guard<std::mutex> guard{mtx_};
    entries_[name] = std::move(handle);
  }

  /// Removes `name`; no-op if absent.
  void erase(const std::string& name) {
    std::lock_guard<std::mutex> guard{mtx_};
    entries_.erase(name);
  }

  /// The actor registered as `name`, or an invalid handle.
  caf::actor get(const std::string& name) const {
    std::lock_guard<std::mutex> guard{mtx_};
    auto i = entries_.find(name);
    return i == entries_.end() ? caf::actor{} : i->second;
  }

  /// Typed lookup; an invalid handle if absent.
  template <class Handle>
  Handle get_as(const std::string& name) const {
    return caf::actor_cast<Handle>(get(name));
  }

  /// Resolves a locator. Only local locators (empty node) resolve here.
  caf::actor resolve(const protocols::locator& loc) const {
    return loc.node.empty() ? get(loc.actor) : caf::actor{};
  }

  /// Names currently registered, sorted.
  std::vector<std::string> names() const {
    std::lock_guard<std::mutex> guard{mtx_};
    std::vector<std::string> out;
    for (const auto& kv : entries_) out.push_back(kv.first);
    return out;
  }

  /// Drops every handle (at shutdown, so actors can terminate).
  void clear() {
    std::lock_guard<std::mutex> guard{mtx_};
    entries_.clear();
  }

 private:
  mutable std::mutex mtx_;
  std::map<std::string, caf::actor> entries_;
};

using directory_ptr = std::shared_ptr<directory>;

}  // namespace fusion::runtime
