#define CATCH_CONFIG_RUNNER
#include <ATen/Parallel.h>

#include <catch2/catch.hpp>

#include "svdd/util/process.hpp"

int main(int argc, char* argv[]) {
  svdd::tune_allocator();
  // ctest runs two test processes at once on two cores: a libtorch thread
  // pool per process would only contend (measured: 3.5 s -> 100 s).
  at::set_num_threads(1);
  return Catch::Session().run(argc, argv);
}
