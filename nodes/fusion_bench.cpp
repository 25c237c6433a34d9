// fusion-bench: runs one benchmark subcommand and prints its figures as JSON lines.
// The subcommands live in tests/bench/ (table: tests/bench/subcommands.def).

#include "tests/bench/bench.hpp"

int main(int argc, char** argv) {
  return fusion::bench::main(argc, argv);
}
