#pragma once
// How names in manifests, requests and zone descriptions are compared (docs/placement.md,
// "Matching names"). Preselection (actors/domain) and scoring (actors/evaluator) both use these,
// so a zone one of them accepts is never refused by the other for a name spelled differently.

#include <string>
#include <string_view>
#include <vector>

namespace fusion::runtime {

/// `s` with ASCII letters in lower case (other bytes unchanged).
std::string lower(std::string s);

/// Whether two names are the same ignoring ASCII case: OS, region, isolation, accelerator.
bool same_name(std::string_view a, std::string_view b);

/// Whether `names` holds `x` ignoring ASCII case (same_name).
bool has_name(const std::vector<std::string>& names, std::string_view x);

/// Whether a zone's GPU `model` satisfies the manifest's `wanted` model: `wanted` appears in
/// `model` ignoring ASCII case ("a100" matches "NVIDIA-A100"); an empty `wanted` matches any.
bool gpu_model_matches(std::string_view model, std::string_view wanted);

}  // namespace fusion::runtime
