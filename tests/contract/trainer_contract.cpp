// The trainer contract: a bad [training] table is refused with an
// InputError naming the key, before any data is read; and every component a
// plugin registers is under contract.
#include <algorithm>

#include "catch_torch.hpp"
#include "contract.hpp"
#include "svdd/error.hpp"

namespace svdd::contract {

void check_trainer(const Workshop& workshop, const std::string& training_file) {
  INFO("training file: " << training_file);
  CHECK_THROWS_WITH(workshop.train(training_file, {"training.contract_unknown_key=1"}),
                    Catch::Contains("[training] unknown key 'contract_unknown_key'"));
  CHECK_THROWS_AS(workshop.train(training_file, {"training.contract_unknown_key=1"}), InputError);
  CHECK_THROWS_WITH(workshop.train(training_file, {"training.output=3"}),
                    Catch::Contains("output"));
  CHECK_THROWS_AS(workshop.train(training_file, {"training.output=3"}), InputError);
}

void check_coverage(const std::function<void(Registry&)>& register_plugin,
                    const std::vector<std::string>& covered) {
  Registry own;
  register_plugin(own);
  for (const auto& component : own.components()) {
    // Methods and values have their own statistical suites (tests/unit).
    if (component.kind == ComponentKind::method || component.kind == ComponentKind::value) continue;
    INFO(to_string(component.kind)
         << " '" << component.name << "' has no case in its plugin's contract suite");
    CHECK(std::find(covered.begin(), covered.end(), component.name) != covered.end());
  }
}

}  // namespace svdd::contract
