// The molecule plugin's models, rewards, metrics and trainer under the
// shared contract, with the committed ZINC and QM9 models.
#include <ATen/CPUGeneratorImpl.h>

#include "catch_torch.hpp"
#include "contract.hpp"
#include "molecule_diffusion.hpp"
#include "molecule_domain.hpp"
#include "molecule_metrics.hpp"
#include "molecule_rewards.hpp"
#include "needs_data.hpp"
#include "rdkit_support.hpp"
#include "selfies_transformer_value.hpp"
#include "smiles_domain.hpp"
#include "svdd/training/value_network.hpp"
#include "torchscript_modules.hpp"
#include "toy_fixture.hpp"
#include "vina_docking.hpp"

using namespace svdd::contract;

namespace {

void register_molecule(svdd::Registry& registry) {
  svdd::molecule::quiet_rdkit_logs();
  svdd::molecule::register_selfies_domain(registry);
  svdd::molecule::register_molecule_diffusion(registry);
  svdd::molecule::register_molecule_rewards(registry);
  svdd::molecule::register_molecule_metrics(registry);
  svdd::molecule::register_docking(registry);
  svdd::molecule::register_selfies_transformer_value(registry);
}

const std::string kZinc =
    "type = \"molecule.mdlm\"\ncheckpoint = \"{experiments}/models/zinc_mdlm.pt\"\nsteps = 4";
const std::string kQm9 =
    "type = \"molecule.mdlm\"\ncheckpoint = \"{experiments}/models/qm9_mdlm.pt\"\nsteps = 4";

const std::vector<std::string> kRewards = {
    "type = \"molecule.qed\"",
    "type = \"molecule.logp\"",
    "type = \"molecule.mol_weight\"",
};
// The SA score's fragment table lives in the data folder.
const std::string kFragments = "sa_score_fpscores/fpscores.tsv.gz";
const std::vector<std::string> kDataRewards = {
    "type = \"molecule.sa\"",
    "type = \"molecule.penalized_logp\"",
};
const std::vector<std::string> kMetrics = {
    "type = \"molecule.validity\"",
    "type = \"molecule.uniqueness\"",
    "type = \"molecule.internal_diversity\"",
};
const std::string kNoveltyFile = "zinc250k_subset/zinc250k_subset_props.csv.gz";
const std::string kNovelty = "type = \"molecule.novelty\"\nfile = \"" + kNoveltyFile + "\"";

// Molecules the rewards must score: two valid SMILES, then two invalid ones.
const svdd::Domain kSmiles =
    svdd::test::smiles_domain({"CCO", "c1ccccc1C(=O)O", "C1CC", "not a molecule"});
const at::Tensor kValidSmiles = at::tensor({0L, 1L}).reshape({2, 1});
const at::Tensor kInvalidSmiles = at::tensor({2L, 3L}).reshape({2, 1});

void check_molecule_reward(const Workshop& workshop, const std::string& table,
                           const svdd::Domain& selfies, const at::Tensor& drawn) {
  check_reward(workshop, {table, selfies, drawn, {}, {picture_domain()}});
  check_reward(workshop, {table, kSmiles, kValidSmiles, kInvalidSmiles, {}});
}

}  // namespace

TEST_CASE("molecule models keep the model contract", "[contract][molecule]") {
  const Workshop workshop(register_molecule);
  check_model(workshop, kZinc);
  check_model(workshop, kQm9);
}

TEST_CASE("molecule rewards keep the reward contract", "[contract][molecule]") {
  const Workshop workshop(register_molecule);
  auto zinc = workshop.model(kZinc);
  const at::Tensor drawn = draw(*zinc, 3, 5);
  for (const auto& table : kRewards) check_molecule_reward(workshop, table, zinc->domain(), drawn);
}

TEST_CASE("the SA-based molecule rewards keep the reward contract", "[contract][molecule][data]") {
  const auto data = svdd::test::needs_data({kFragments});
  if (!data) return;
  const Workshop workshop(register_molecule);
  auto zinc = workshop.model(kZinc);
  const at::Tensor drawn = draw(*zinc, 3, 5);
  for (const auto& table : kDataRewards) {
    check_molecule_reward(workshop, table, zinc->domain(), drawn);
  }
}

TEST_CASE("molecule metrics keep the metric contract", "[contract][molecule]") {
  const Workshop workshop(register_molecule);
  auto zinc = workshop.model(kZinc);
  const at::Tensor drawn = draw(*zinc, 4, 6);
  for (const auto& table : kMetrics) {
    check_metric(workshop, {table, zinc->domain(), drawn, {picture_domain()}});
  }
}

TEST_CASE("molecule novelty keeps the metric contract", "[contract][molecule][data]") {
  const auto data = svdd::test::needs_data({kNoveltyFile});
  if (!data) return;
  const Workshop workshop(register_molecule);
  auto zinc = workshop.model(kZinc);
  check_metric(workshop, {kNovelty, zinc->domain(), draw(*zinc, 4, 6), {picture_domain()}});
}

TEST_CASE("the molecule trainer refuses a bad table naming the key", "[contract][molecule]") {
  check_trainer(Workshop(register_molecule), "pretrain/zinc_mdlm.toml");
}

TEST_CASE("the SELFIES transformer value network keeps the value-network contract",
          "[contract][molecule]") {
  const Workshop workshop(register_molecule);
  check_value_network(workshop, {"type = \"molecule.transformer\"\nwidth = 32\nheads = 2\n"
                                 "layers = 1\nfeedforward = 32\ndropout = 0.0\nhead = 16",
                                 token_domain(12), 16, token_domain(13)});
  // The ZINC denoiser's weights fit every layer but the head's.
  const svdd::Domain zinc = workshop.model(kZinc)->domain();
  auto generator = at::make_generator<at::CPUGeneratorImpl>(0);
  svdd::ValueNetwork network(workshop.registry(),
                             svdd::parse_component("type = \"molecule.transformer\"", "network"),
                             zinc, 8, generator);
  const auto [copied, parameters] = network.warm_start(std::filesystem::path(SVDD_SOURCE_DIR) /
                                                       "experiments/models/zinc_mdlm.pt");
  CHECK(copied == parameters - 4);
}

TEST_CASE("every molecule component is under contract", "[contract][molecule]") {
  std::vector<std::string> names = {"molecule.mdlm", type_of(kNovelty), "molecule.train_mdlm",
                                    "molecule.transformer"};
  for (const auto* list : {&kRewards, &kDataRewards, &kMetrics}) {
    for (const auto& table : *list) names.push_back(type_of(table));
  }
  // Docking runs AutoDock Vina for minutes per molecule: its own tests
  // ([docking], tests/plugins/test_molecule_docking.cpp) check invalid
  // molecules, failures and the cache with fake programs instead.
  names.push_back("molecule.vina");
  check_coverage(register_molecule, names);
}

// A user's own SELFIES model named into the plugin's domain: its samples
// decode to canonical SMILES, so the molecule rewards and metrics apply.
TEST_CASE("a TorchScript model in the domain molecule.selfies keeps the contracts",
          "[contract][molecule]") {
  const Workshop workshop(register_molecule);
  svdd::test::TempDir dir;
  const auto file =
      svdd::test::write_module(dir.path() / "uniform.pt", "tokens: Tensor, time: Tensor",
                               "    return torch.zeros([tokens.size(0), 6, 4])");
  const std::string table = "type = \"torchscript_mdlm\"\nfile = '" + file.string() +
                            "'\ndomain = \"molecule.selfies\"\ntokens = [\"[nop]\", \"[C]\", "
                            "\"[O]\", \"[N]\"]\nlength = 6\nsteps = 4";
  check_model(workshop, table);
  const svdd::Domain selfies = workshop.model(table)->domain();
  CHECK(selfies.name == "molecule.selfies");
  CHECK(selfies.mask_id == 4);
  // [C][C][O] and padding: ethanol.
  CHECK(selfies.decode(at::tensor({1L, 1L, 2L, 0L, 0L, 0L}).reshape({1, 6}))[0] == "CCO");
  const at::Tensor drawn = at::randint(1, 4, {3, 6}, at::TensorOptions(at::kLong));
  for (const auto& reward : kRewards) check_molecule_reward(workshop, reward, selfies, drawn);
  CHECK_THROWS_WITH(workshop.model("type = \"torchscript_mdlm\"\nfile = '" + file.string() +
                                   "'\ndomain = \"molecule.selfies\"\ntokens = [\"[C]\", "
                                   "\"[O]\", \"[N]\"]\nlength = 6"),
                    Catch::Contains("domain 'molecule.selfies': give the module's SELFIES tokens"));
}
