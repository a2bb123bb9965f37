#define CATCH_CONFIG_RUNNER
#include <ATen/Parallel.h>

#include <catch2/catch.hpp>
#include <iostream>

#include "needs_data.hpp"
#include "svdd/util/process.hpp"

int main(int argc, char* argv[]) {
  svdd::tune_allocator();
  // ctest runs two test processes at once on two cores: a libtorch thread
  // pool per process would only contend (measured: 3.5 s -> 100 s).
  at::set_num_threads(1);
  const int failures = Catch::Session().run(argc, argv);
  const auto& tally = svdd::test::skip_tally();
  if (tally.skipped > 0) {
    std::cout << tally.skipped << " of " << tally.ran
              << " test cases skipped: they need ../shared/data" << std::endl;
  }
  // ctest runs one test case per process: all of it skipped -> "Skipped".
  if (failures == 0 && tally.skipped > 0 && tally.skipped == tally.ran) {
    return svdd::test::kSkipReturnCode;
  }
  return failures;
}
