// Anchor translation unit: checks the header-only runtime pieces compile on their own.
#include "runtime/clock.hpp"
#include "runtime/directory.hpp"
