#pragma once
// The actor directory: resolves a locator's actor name to a handle. Every role registers
// under a stable name ("zone/edge-1", "domain/registrar"); peers find each other through
// locators in protocol messages, never through each other's internals. In-process, this
// is a thread-safe map; the node link layer resolves remote locators to proxies.

#include "protocols/common.hpp"

#include <caf/actor.hpp>
#include <caf/actor_cast.hpp>

#include <functional>
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

  /// Resolves another node's locators from now on (link/peers.hpp: a proxy while a link
  /// to that node is up); an empty function stops it.
  using remote_resolver = std::function<caf::actor(const protocols::locator&)>;
  void set_remote_resolver(remote_resolver r) {
    std::lock_guard<std::mutex> guard{mtx_};
    remote_ = std::move(r);
  }

  /// This node's name: the `node` of the locators of its actors ("" until set).
  void set_node(std::string name) {
    std::lock_guard<std::mutex> guard{mtx_};
    node_ = std::move(name);
  }
  std::string node() const {
    std::lock_guard<std::mutex> guard{mtx_};
    return node_;
  }
  /// The locator other nodes reach the actor `name` of this node by.
  protocols::locator here(const std::string& name) const { return {node(), name}; }

  /// Resolves a locator: this node's actors (node "" or this node's name) here, other
  /// nodes' through the remote resolver; an invalid handle if neither knows it.
  caf::actor resolve(const protocols::locator& loc) const {
    remote_resolver remote;
    {
      std::lock_guard<std::mutex> guard{mtx_};
      if (loc.node.empty() || loc.node == node_) {
        auto i = entries_.find(loc.actor);
        return i == entries_.end() ? caf::actor{} : i->second;
      }
      remote = remote_;
    }
    return remote ? remote(loc) : caf::actor{};
  }

  /// Names currently registered, sorted.
  std::vector<std::string> names() const {
    std::lock_guard<std::mutex> guard{mtx_};
    std::vector<std::string> out;
    for (const auto& kv : entries_) out.push_back(kv.first);
    return out;
  }

  /// Drops every handle and the remote resolver (at shutdown, so actors can terminate).
  void clear() {
    std::lock_guard<std::mutex> guard{mtx_};
    entries_.clear();
    remote_ = nullptr;
  }

 private:
  mutable std::mutex mtx_;
  std::map<std::string, caf::actor> entries_;
  std::string node_;
  remote_resolver remote_;
};

using directory_ptr = std::shared_ptr<directory>;

}  // namespace fusion::runtime
