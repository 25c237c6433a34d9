#pragma once
// Helpers shared by the domain tests: the principals the tests act as (file helpers are in
// tests/support/files.hpp).

#include "protocols/manifest.hpp"
#include "tests/support/files.hpp"

#include <string>

namespace fusion::test {

inline const protocols::principal acme{"acme", protocols::role::service_provider};
inline const protocols::principal evil{"evil", protocols::role::service_provider};
inline const protocols::principal root{"root", protocols::role::domain_admin};
inline const protocols::principal zone_ops{"zone-ops", protocols::role::zone_admin};
inline const protocols::principal other_ops{"other-ops", protocols::role::zone_admin};

}  // namespace fusion::test
