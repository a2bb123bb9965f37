#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include "svdd/process.hpp"

int main(int argc, char* argv[]) {
  svdd::tune_allocator();
  return Catch::Session().run(argc, argv);
}
