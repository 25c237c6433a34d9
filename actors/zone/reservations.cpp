#include "actors/zone/reservations.hpp"

#include <algorithm>
#include <limits>

namespace fusion::zone {

namespace {

uint64_t minus(uint64_t a, uint64_t b) {
  return a > b ? a - b : 0;
}

}  // namespace

resources& resources::operator+=(const resources& x) {
  cores += x.cores;
  memory_mb += x.memory_mb;
  gpus += x.gpus;
  instances += x.instances;
  return *this;
}

resources& resources::operator-=(const resources& x) {
  cores = minus(cores, x.cores);
  memory_mb = minus(memory_mb, x.memory_mb);
  gpus = minus(gpus, x.gpus);
  instances = minus(instances, x.instances);
  return *this;
}

resources resources::times(uint64_t n) const {
  return {cores * n, memory_mb * n, gpus * n, instances * n};
}

bool resources::fits(const resources& x) const {
  return x.cores <= cores && x.memory_mb <= memory_mb && x.gpus <= gpus && x.instances <= instances;
}

resources reservations::free() const {
  auto out = capacity_;
  out -= used_;
  out -= held_;
  if (capacity_.instances == 0) out.instances = std::numeric_limits<uint64_t>::max();
  return out;
}

uint64_t reservations::fit(const resources& per_instance) const {
  auto f = free();
  uint64_t n = f.instances;
  if (per_instance.cores > 0) n = std::min(n, f.cores / per_instance.cores);
  if (per_instance.memory_mb > 0) n = std::min(n, f.memory_mb / per_instance.memory_mb);
  if (per_instance.gpus > 0) n = std::min(n, f.gpus / per_instance.gpus);
  return n;
}

uint64_t reservations::add(hold h) {
  held_ += h.total();
  auto n = next_++;
  holds_.emplace(n, std::move(h));
  return n;
}

hold* reservations::find(uint64_t n) {
  auto i = holds_.find(n);
  return i == holds_.end() ? nullptr : &i->second;
}

bool reservations::drop(uint64_t n) {
  auto i = holds_.find(n);
  if (i == holds_.end()) return false;
  held_ -= i->second.total();
  holds_.erase(i);
  return true;
}

}  // namespace fusion::zone
