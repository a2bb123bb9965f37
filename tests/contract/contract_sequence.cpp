// The sequence plugin's models, rewards, metric and trainers under the
// shared contract, with the committed DNA and RNA checkpoints.
#include <ATen/CPUGeneratorImpl.h>

#include "activity_oracle.hpp"
#include "catch_torch.hpp"
#include "contract.hpp"
#include "dilated_conv_value.hpp"
#include "needs_data.hpp"
#include "sequence_diffusion.hpp"
#include "sequence_domain.hpp"
#include "sequence_rewards.hpp"
#include "svdd/error.hpp"
#include "svdd/training/value_network.hpp"
#include "torchscript_modules.hpp"
#include "toy_fixture.hpp"

using namespace svdd::contract;

namespace {

void register_sequence(svdd::Registry& registry) {
  svdd::sequence::register_sequence_domains(registry);
  svdd::sequence::register_sequence_rewards(registry);
  svdd::sequence::register_sequence_diffusion(registry);
  svdd::sequence::register_mdlm_training(registry);
  svdd::sequence::register_sequence_oracle(registry);
  svdd::sequence::register_dilated_conv_value(registry);
}

const std::string kDnaModel =
    "type = \"sequence.mdlm\"\ncheckpoint = \"{experiments}/models/dna_mdlm.pt\"\nsteps = 6";
const std::string kRnaModel =
    "type = \"sequence.mdlm\"\ncheckpoint = \"{experiments}/models/rna_mdlm.pt\"\nsteps = 6";

const std::vector<std::string> kNucleotideRewards = {
    "type = \"sequence.gc_content\"",
    "type = \"sequence.motif_count\"\nmotif = \"TATAAA\"",
    "type = \"sequence.homopolymer_penalty\"\nmax_run = 3",
};

const std::string kKmerMetric =
    "type = \"sequence.kmer_correlation\"\nk = 3\nfile = "
    "\"agarwal2025_lentimpra_hepg2/hepg2_lentimpra_200bp.tsv.gz\"\nsequence_column = "
    "\"seq200\"\nid_column = \"seq_id\"\nalphabet = \"dna\"\npart = \"test\"";

// Random letters (no mask) of a sequence domain: [n, L] int64.
at::Tensor letters(const svdd::Domain& d, int64_t n) {
  return at::randint(0, 4, {n, d.shape[0]}, at::TensorOptions(at::kLong));
}

}  // namespace

TEST_CASE("sequence models keep the model contract", "[contract][sequence]") {
  const Workshop workshop(register_sequence);
  check_model(workshop, kDnaModel);
  check_model(workshop, kRnaModel);
}

TEST_CASE("sequence rewards keep the reward contract", "[contract][sequence]") {
  const Workshop workshop(register_sequence);
  const svdd::Domain dna = workshop.model(kDnaModel)->domain();
  const svdd::Domain rna = workshop.model(kRnaModel)->domain();
  const svdd::Domain toy = workshop.model("type = \"toy.categorical\"")->domain();
  for (const auto& table : kNucleotideRewards) {
    check_reward(workshop, {table, dna, letters(dna, 3), {}, {picture_domain(), toy}});
    check_reward(workshop, {table, rna, letters(rna, 3), {}, {picture_domain(), toy}});
  }
  check_reward(workshop, {"type = \"sequence.oracle\"\ncheckpoint = "
                          "\"{experiments}/models/dna_oracle_guide.pt\"",
                          dna,
                          letters(dna, 3),
                          {},
                          {rna, picture_domain(), toy}});
  check_reward(workshop, {"type = \"sequence.oracle\"\ncheckpoint = "
                          "\"{experiments}/models/rna_mrl_oracle_heldout.pt\"",
                          rna,
                          letters(rna, 3),
                          {},
                          {dna, picture_domain(), toy}});
  check_reward(workshop, {"type = \"sequence.log_likelihood\"\ncheckpoint = "
                          "\"{experiments}/models/dna_mdlm.pt\"\nt_points = 2",
                          dna,
                          letters(dna, 2),
                          {},
                          {rna, picture_domain(), toy}});
}

// A user's own token model named into the DNA domain: the plugin's
// rewards, oracle and encoder take its samples as they take its own.
TEST_CASE("a TorchScript model in the domain sequence.dna keeps the contracts",
          "[contract][sequence]") {
  const Workshop workshop(register_sequence);
  svdd::test::TempDir dir;
  const auto file =
      svdd::test::write_module(dir.path() / "uniform.pt", "tokens: Tensor, time: Tensor",
                               "    return torch.zeros([tokens.size(0), 200, 4])");
  const std::string table = "type = \"torchscript_mdlm\"\nfile = '" + file.string() +
                            "'\ndomain = \"sequence.dna\"\nlength = 200\nsteps = 6";
  check_model(workshop, table);
  const svdd::Domain dna = workshop.model(table)->domain();
  CHECK(dna.name == "sequence.dna");
  CHECK(dna.mask_id == 4);
  for (const auto& reward : kNucleotideRewards) {
    check_reward(workshop, {reward, dna, letters(dna, 3), {}, {picture_domain()}});
  }
  check_reward(workshop, {"type = \"sequence.oracle\"\ncheckpoint = "
                          "\"{experiments}/models/dna_oracle_guide.pt\"",
                          dna,
                          letters(dna, 3),
                          {},
                          {}});
  CHECK(dna.encode(std::string(200, 'g')).problem.empty());
  // The module's tokens, when given, must be the domain's letters.
  CHECK_THROWS_WITH(workshop.model(table + "\nalphabet = \"ACGU\""),
                    Catch::Contains("domain 'sequence.dna': the module's tokens must be ACGT"));
  CHECK_THROWS_WITH(workshop.model(table + "\nmask_index = 0"),
                    Catch::Contains("mask_index: is the named domain's own"));
  CHECK_THROWS_WITH(
      workshop.model("type = \"torchscript_mdlm\"\nfile = '" + file.string() +
                     "'\ndomain = \"sequence.protein\"\nlength = 200"),
      Catch::Contains("unknown domain 'sequence.protein' (known: sequence.dna, sequence.rna"));
}

TEST_CASE("the k-mer metric keeps the metric contract", "[contract][sequence][data]") {
  const auto data =
      svdd::test::needs_data({"agarwal2025_lentimpra_hepg2/hepg2_lentimpra_200bp.tsv.gz"});
  if (!data) return;
  const Workshop workshop(register_sequence);
  const svdd::Domain dna = workshop.model(kDnaModel)->domain();
  check_metric(workshop, {kKmerMetric, dna, letters(dna, 8), {picture_domain()}});
}

TEST_CASE("sequence trainers refuse a bad table naming the key", "[contract][sequence]") {
  const Workshop workshop(register_sequence);
  check_trainer(workshop, "pretrain/dna_mdlm.toml");
  check_trainer(workshop, "pretrain/dna_oracle_guide.toml");
}

TEST_CASE("the dilated-conv value network keeps the value-network contract",
          "[contract][sequence]") {
  const Workshop workshop(register_sequence);
  check_value_network(workshop, {"type = \"sequence.dilated_conv\"\nchannels = 16\nkernel = 3\n"
                                 "dilations = [1, 2]\nhead = 16",
                                 token_domain(12), 16, token_domain(13)});
  // A continuous domain is refused when the network is built.
  auto generator = at::make_generator<at::CPUGeneratorImpl>(0);
  CHECK_THROWS_WITH(
      svdd::ValueNetwork(workshop.registry(),
                         svdd::parse_component("type = \"sequence.dilated_conv\"", "network"),
                         picture_domain(), 16, generator),
      Catch::Contains("needs token sequences [L]"));
}

TEST_CASE("the dilated-conv value network starts from the DNA denoiser's weights",
          "[contract][sequence]") {
  const Workshop workshop(register_sequence);
  const svdd::Domain dna = workshop.model(kDnaModel)->domain();
  auto generator = at::make_generator<at::CPUGeneratorImpl>(0);
  svdd::ValueNetwork network(workshop.registry(),
                             svdd::parse_component("type = \"sequence.dilated_conv\"", "network"),
                             dna, 6, generator);
  const auto [copied, parameters] =
      network.warm_start(std::filesystem::path(SVDD_SOURCE_DIR) / "experiments/models/dna_mdlm.pt");
  // Everything but the head's two layers (weight and bias each).
  CHECK(parameters == static_cast<int64_t>(network.parameters().size()));
  CHECK(copied == parameters - 4);
}

TEST_CASE("every sequence component is under contract", "[contract][sequence]") {
  std::vector<std::string> names = {"sequence.mdlm",           "sequence.oracle",
                                    "sequence.log_likelihood", type_of(kKmerMetric),
                                    "sequence.train_mdlm",     "sequence.train_oracle",
                                    "sequence.dilated_conv"};
  for (const auto& table : kNucleotideRewards) names.push_back(type_of(table));
  check_coverage(register_sequence, names);
}
