#include "runtime/clock.hpp"
#include "runtime/directory.hpp"
