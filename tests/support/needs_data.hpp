// Tests that read the public data sets in ../shared/data (or $SVDD_DATA_DIR)
// skip visibly when they are absent: tag the test case [data] and start it
// with
//   const auto data = svdd::test::needs_data({"mnist_t10k/t10k-images-idx3-ubyte.gz"});
//   if (!data) return;
// needs_data prints "skipped: needs ../shared/data (...)" and counts the test
// case as skipped; a test process in which every test case that ran was
// skipped exits with kSkipReturnCode, which ctest reports as "Skipped"
// (SKIP_RETURN_CODE in tests/CMakeLists.txt), so a missing data folder never
// passes silently.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace svdd::test {

inline constexpr int kSkipReturnCode = 77;

// The data folder when it holds every one of `files` (relative to it), else
// nullopt after reporting the skip of the running test case.
std::optional<std::filesystem::path> needs_data(const std::vector<std::string>& files);

// Reports the running test case as skipped for `reason` (needs_data's
// message); the test case should return at once.
void skip_test_case(const std::string& reason);

// How many test cases ran and how many of them were skipped, for main().
struct SkipTally {
  int ran = 0;
  int skipped = 0;
};
SkipTally& skip_tally();

}  // namespace svdd::test
