#include "needs_data.hpp"

// Catch declares its listener base class only with this.
#define CATCH_CONFIG_EXTERNAL_INTERFACES
#include <catch2/catch.hpp>
#include <iostream>
#include <set>

#include "svdd/config/experiment.hpp"

namespace svdd::test {
namespace {

// Counts the test cases that start and remembers the running one, so a skip
// is counted once per test case however many sections re-enter it.
class SkipListener : public Catch::TestEventListenerBase {
 public:
  using TestEventListenerBase::TestEventListenerBase;
  void testCaseStarting(const Catch::TestCaseInfo& info) override {
    ++skip_tally().ran;
    current() = info.name;
  }
  static std::string& current() {
    static std::string name;
    return name;
  }
};
CATCH_REGISTER_LISTENER(SkipListener)

}  // namespace

SkipTally& skip_tally() {
  static SkipTally tally;
  return tally;
}

void skip_test_case(const std::string& reason) {
  static std::set<std::string> skipped;
  if (skipped.insert(SkipListener::current()).second) ++skip_tally().skipped;
  std::cout << "skipped: " << reason << " [" << SkipListener::current() << "]" << std::endl;
}

std::optional<std::filesystem::path> needs_data(const std::vector<std::string>& files) {
  const std::filesystem::path dir = default_data_dir();
  std::vector<std::string> missing;
  for (const auto& file : files) {
    if (dir.empty() || !std::filesystem::exists(dir / file)) missing.push_back(file);
  }
  if (missing.empty()) return dir;
  std::string reason = "needs ../shared/data (or $SVDD_DATA_DIR) with";
  for (const auto& file : missing) reason += " " + file;
  if (dir.empty())
    reason += "; no data folder found";
  else
    reason += " (not in " + dir.string() + ")";
  skip_test_case(reason);
  return std::nullopt;
}

}  // namespace svdd::test

