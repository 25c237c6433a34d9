#pragma once
// Slot auctions (§7.2, seed NOTATION.md): orchestrators bid for a contended zone's identical
// service slots; the zone clears each round as a multi-unit Vickrey auction and tells every
// bidder what it won, what it pays and what the competition looked like.

#include "protocols/common.hpp"

#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

namespace fusion::protocols {

/// Orchestrator O_i's bids at zone Z_j: `count` bids (b_ij) of `value` each (v_ij).
struct bid {
  static constexpr message_meta meta{0x0D01, "bid", 1, 4};
  std::string orchestrator;  ///< O_i
  fusion_id zone;            ///< Z_j
  uint32_t count = 0;        ///< b_ij: slots wanted, one bid per slot.
  double value = 0;          ///< v_ij: price offered per slot.
  uint64_t round = 0;        ///< Auction round (simulation epoch) the bids are for.
  friend bool operator==(const bid&, const bid&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, bid& x) {
  return f(caf::meta::type_name("bid"), x.orchestrator, x.zone, x.count, x.value, x.round);
}

/// Outcome of one round for one bidder, plus the zone's market statistics (§7.2.4.1).
struct auction_result {
  static constexpr message_meta meta{0x0D02, "auction_result", 1, 2};
  uint32_t wins = 0;   ///< w_ij: slots won.
  double payment = 0;  ///< Sum of the w_ij highest losing bids (Vickrey).
  std::string orchestrator;
  fusion_id zone;
  uint64_t round = 0;
  uint32_t total_bids = 0;                ///< B_j: bids the zone received this round.
  uint32_t slots = 0;                     ///< S_j: slots the zone offered.
  std::vector<uint32_t> value_histogram;  ///< Received bid values in equal-width bins.
  double histogram_max = 0;               ///< Upper bound of the last bin (bins start at 0).
  friend bool operator==(const auction_result&, const auction_result&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, auction_result& x) {
  return f(caf::meta::type_name("auction_result"), x.wins, x.payment, x.orchestrator, x.zone,
           x.round, x.total_bids, x.slots, x.value_histogram, x.histogram_max);
}

/// Typed interface of a zone's auctioneer: a bid is answered when its round clears.
using auctioneer_actor = caf::typed_actor<caf::replies_to<bid>::with<auction_result>>;

}  // namespace fusion::protocols
