// Building components by name for the contract suites, through the same
// experiment and training files a user writes.
#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include <regex>

#include "contract.hpp"
#include "svdd/config/experiment.hpp"
#include "svdd/error.hpp"
#include "svdd/trainer.hpp"
#include "toy_fixture.hpp"

namespace svdd::contract {
namespace {

const std::string kExperiments = std::string(SVDD_SOURCE_DIR) + "/experiments";

// "{experiments}" in a table -> the committed experiments folder.
std::string resolve(std::string table) {
  const std::string token = "{experiments}";
  for (auto at = table.find(token); at != std::string::npos; at = table.find(token)) {
    table.replace(at, token.size(), kExperiments);
  }
  return table;
}

// The one run of an experiment file around the given tables.
RunPlan plan_of(const Registry& registry, const std::string& model, const std::string& reward,
                const std::string& metric) {
  test::TempDir dir;
  std::string text = "[model]\n" + resolve(model) + "\n[reward]\n" + resolve(reward) + "\n";
  if (!metric.empty()) text += "[metrics.contract]\n" + resolve(metric) + "\n";
  text += "[methods.pretrained]\ntype = \"pretrained\"\n";
  return load_experiment(dir.write("contract.toml", text), {}, registry).runs.front();
}

const std::string kAnyModel = "type = \"toy.categorical\"";
const std::string kAnyReward = "type = \"toy.token_count\"";

}  // namespace

Workshop::Workshop(const std::function<void(Registry&)>& register_plugin) {
  register_core_components(registry_);
  if (register_plugin) register_plugin(registry_);
  build_.data_dir = default_data_dir();
  build_.registry = &registry_;
  build_.make_reward = [this](const ComponentSpec& spec, const Domain& domain) {
    return registry_.make<svdd::ComponentKind::reward>(spec, build_, domain);
  };
}

Workshop::~Workshop() = default;

std::unique_ptr<DiffusionModel> Workshop::model(const std::string& table) const {
  return registry_.make<svdd::ComponentKind::model>(plan_of(registry_, table, kAnyReward, "").model,
                                                    build_);
}

std::unique_ptr<RewardOracle> Workshop::reward(const std::string& table,
                                               const Domain& domain) const {
  return registry_.make<svdd::ComponentKind::reward>(
      plan_of(registry_, kAnyModel, table, "").reward, build_, domain);
}

std::unique_ptr<SampleSetMetric> Workshop::metric(const std::string& table,
                                                  const Domain& domain) const {
  const RunPlan plan = plan_of(registry_, kAnyModel, kAnyReward, table);
  return registry_.make<svdd::ComponentKind::metric>(plan.metrics.front().second, build_, domain);
}

void Workshop::train(const std::string& training_file,
                     const std::vector<std::string>& overrides) const {
  test::TempDir dir;
  TrainingOptions options;
  options.file = std::filesystem::path(training_file).is_absolute()
                     ? std::filesystem::path(training_file)
                     : std::filesystem::path(kExperiments) / training_file;
  options.overrides = overrides;
  options.out = dir.path() / "contract.pt";
  train_component(options, registry_);
}

std::string type_of(const std::string& table) {
  static const std::regex type(R"re(type\s*=\s*"([^"]+)")re");
  std::smatch match;
  if (!std::regex_search(table, match, type)) return "";
  return match[1];
}

Domain picture_domain() {
  Domain d;
  d.name = "contract.picture";
  d.kind = Domain::Kind::continuous;
  d.shape = {1, 28, 28};
  return d;
}

Domain token_domain(int64_t length) {
  Domain d;
  d.name = "contract.tokens";
  d.kind = Domain::Kind::discrete;
  d.shape = {length};
  d.vocab_size = 5;
  d.mask_id = 4;
  d.alphabet = {"A", "C", "G", "T", "_"};
  return d;
}

at::Tensor draw(DiffusionModel& model, int64_t n, uint64_t seed) {
  c10::InferenceMode guard;
  at::Generator generator = at::make_generator<at::CPUGeneratorImpl>(seed);
  at::Tensor x = model.prior(n, generator);
  for (int t = model.num_steps(); t >= 1; --t) x = model.transition(x, t)->sample(1, generator);
  return x;
}

}  // namespace svdd::contract
