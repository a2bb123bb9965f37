// The sequence plugin's activity oracles: the committed guiding checkpoints
// reproduce the test correlation on their cards, a short training run
// learns and writes a card, a model of another alphabet or length is
// refused, gradients in probabilities match finite differences, and a
// masked sequence scores invalid_value().
#include <fmt/format.h>

#include <cmath>
#include <fstream>

#include "activity_oracle.hpp"
#include "catch_torch.hpp"
#include "kmer_statistics.hpp"
#include "needs_data.hpp"
#include "sequence_data.hpp"
#include "sequence_domain.hpp"
#include "svdd/config/experiment.hpp"
#include "svdd/error.hpp"
#include "svdd/run/runner.hpp"
#include "svdd/trainer.hpp"
#include "svdd/training/card.hpp"
#include "toy_fixture.hpp"

using Catch::Contains;
using Catch::Matchers::WithinAbs;
namespace seq = svdd::sequence;

namespace {

// experiments/models in the source tree (this file is tests/plugins/...).
// SVDD_SOURCE_DIR, not __FILE__: with CCACHE_BASEDIR the compiler sees a
// relative path, which ctest's working folder (build/tests) does not resolve.
std::filesystem::path models_dir() {
  return std::filesystem::path(SVDD_SOURCE_DIR) / "experiments" / "models";
}

std::string read_text(const std::filesystem::path& file) {
  std::ifstream in(file);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

seq::OracleResults results_of(const std::filesystem::path& checkpoint) {
  return svdd::read_card_section<seq::OracleResults>(svdd::card_path(checkpoint), "results");
}

// The committed guiding MRL oracle, on its own domain (RNA, 50 nt).
std::unique_ptr<svdd::RewardOracle> rna_guide() {
  return seq::load_sequence_oracle(models_dir() / "rna_mrl_oracle_guide.pt", svdd::BuildContext{},
                                   seq::sequence_domain(seq::Alphabet::rna, 50));
}

}  // namespace

TEST_CASE("the committed guiding oracles reproduce the test r on their cards",
          "[sequence][oracle][data]") {
  const auto data =
      svdd::test::needs_data({"agarwal2025_lentimpra_hepg2/hepg2_lentimpra_200bp.tsv.gz",
                              "sample2019_utr_mrl/mrl_egfp_m1pseudo2_test20k.csv.gz"});
  if (!data) return;
  const std::filesystem::path& data_dir = *data;
  // The data keys of experiments/pretrain/{dna,rna_mrl}_oracle_guide.toml.
  auto data_keys = [](std::string file, std::string sequence, std::string target, std::string id,
                      std::string alphabet) {
    seq::SequenceDataParams data;
    data.file = std::move(file);
    data.sequence_column = std::move(sequence);
    data.target_column = std::move(target);
    data.id_column = std::move(id);
    data.alphabet = std::move(alphabet);
    data.test_fraction = 0.1;
    data.split_seed = 0;
    return data;
  };
  struct Task {
    std::string checkpoint;
    seq::SequenceDataParams data;
  };
  const std::vector<Task> tasks{
      {"dna_oracle_guide.pt", data_keys("agarwal2025_lentimpra_hepg2/hepg2_lentimpra_200bp.tsv.gz",
                                        "seq200", "hepg2_log2_rna_dna", "seq_id", "dna")},
      {"rna_mrl_oracle_guide.pt", data_keys("sample2019_utr_mrl/mrl_egfp_m1pseudo2_test20k.csv.gz",
                                            "utr50", "mrl", "", "rna")}};
  for (const auto& task : tasks) {
    SECTION(task.checkpoint) {
      const auto checkpoint = models_dir() / task.checkpoint;
      const auto test = seq::load_sequence_data(task.data, data_dir, seq::SplitPart::test);
      auto oracle = seq::load_sequence_oracle(checkpoint, svdd::BuildContext{},
                                              seq::sequence_domain(test.alphabet, test.length));
      const at::Tensor scores = oracle->score(
          svdd::Samples(test.tokens, seq::sequence_domain(test.alphabet, test.length)));
      REQUIRE(scores.scalar_type() == at::kDouble);
      REQUIRE(scores.size(0) == test.tokens.size(0));
      const auto card = results_of(checkpoint);
      CHECK(card.test_rows == test.tokens.size(0));
      CHECK_THAT(seq::pearson(scores, test.targets), WithinAbs(card.test_pearson, 1e-4));
    }
  }
}

TEST_CASE("a short oracle training lowers the validation loss and writes a card",
          "[sequence][oracle][data]") {
  const auto data =
      svdd::test::needs_data({"sample2019_utr_mrl/mrl_egfp_m1pseudo2_test20k.csv.gz"});
  if (!data) return;
  const std::filesystem::path& data_dir = *data;
  svdd::Registry registry;
  seq::register_sequence_oracle(registry);
  svdd::test::TempDir dir;
  const auto file = dir.write("tiny.toml", fmt::format(R"(
[experiment]
seed = 3
threads = 1
data_dir = "{}"
[training]
type = "sequence.train_oracle"
output = "tiny.pt"
file = "sample2019_utr_mrl/mrl_egfp_m1pseudo2_test20k.csv.gz"
sequence_column = "utr50"
target_column = "mrl"
alphabet = "rna"
part = "train_b"
max_rows = 5000
validation_fraction = 0.2
channels = [32]
kernels = [7]
pools = [2]
first_activation = "relu"
pooling = "flatten"
hidden = [16]
epochs = 2
batch_size = 32
learning_rate = 3e-3
)",
                                                       data_dir.string()));
  svdd::TrainingOptions options;
  options.file = file;
  svdd::train_component(options, registry);
  const auto checkpoint = dir.path() / "tiny.pt";
  REQUIRE(std::filesystem::exists(checkpoint));
  const auto results = results_of(checkpoint);
  CHECK(results.epochs == 2);
  CHECK(results.train_rows + results.validation_rows == 5000);
  REQUIRE(results.validation_loss_per_epoch.size() == 2);
  CHECK(results.validation_loss_per_epoch.back() < results.initial_validation_loss);
  CHECK(results.validation_pearson_per_epoch.back() > 0.2);
  CHECK(results.test_pearson > 0.2);
  CHECK(results.test_rows == 1990);
  const std::string card = read_text(svdd::card_path(checkpoint));
  CHECK_THAT(card, Contains("[network]") && Contains("[domain]") && Contains("sha1 = '") &&
                       Contains("part = 'train_b'") && Contains("test_spearman"));

  SECTION("the same seed trains the same oracle") {
    options.out = dir.path() / "again.pt";
    svdd::train_component(options, registry);
    CHECK(results_of(options.out).test_pearson == results.test_pearson);
  }
  SECTION("the registry builds it as the reward sequence.oracle") {
    const auto run = dir.write("run.toml", R"(
[model]
type = "toy.categorical"
[reward]
type = "sequence.oracle"
checkpoint = "tiny.pt"
[methods.p]
type = "pretrained"
)");
    svdd::register_core_components(registry);
    auto experiment = svdd::load_experiment(run, {}, registry);
    svdd::RunOptions run_options;
    run_options.out_dir = (dir.path() / "out").string();
    run_options.progress = false;
    // toy.categorical's letters are A-D: refused before any sampling.
    CHECK_THROWS_WITH(svdd::run_experiment(experiment, registry, run_options),
                      Contains("sequence.oracle") && Contains("tiny.pt") && Contains("ACGU"));
  }
}

TEST_CASE("an oracle refuses a model of another alphabet or length, naming both",
          "[sequence][oracle]") {
  const auto checkpoint = models_dir() / "rna_mrl_oracle_guide.pt";
  CHECK_THROWS_WITH(seq::load_sequence_oracle(checkpoint, svdd::BuildContext{},
                                              seq::sequence_domain(seq::Alphabet::dna, 50)),
                    Contains("ACGU") && Contains("ACGT"));
  CHECK_THROWS_WITH(seq::load_sequence_oracle(checkpoint, svdd::BuildContext{},
                                              seq::sequence_domain(seq::Alphabet::rna, 60)),
                    Contains("length 50") && Contains("[60]"));
  CHECK_THROWS_AS(seq::load_sequence_oracle(models_dir() / "nowhere.pt", svdd::BuildContext{},
                                            seq::sequence_domain(seq::Alphabet::rna, 50)),
                  svdd::InputError);
}

TEST_CASE("an oracle's gradient in probabilities matches finite differences",
          "[sequence][oracle]") {
  auto oracle = rna_guide();
  REQUIRE(oracle->differentiable());
  const svdd::Domain domain = seq::sequence_domain(seq::Alphabet::rna, 50);
  at::manual_seed(0);
  const at::Tensor probs = at::softmax(at::randn({3, 50, 5}, at::kDouble), 2).to(at::kFloat);
  at::Tensor p = probs.clone().requires_grad_(true);
  at::Tensor r = oracle->score(svdd::Samples(p, domain));
  REQUIRE(r.scalar_type() == at::kDouble);
  REQUIRE(r.requires_grad());
  r.sum().backward();
  const at::Tensor grad = p.grad();
  // The mask channel is ignored.
  CHECK(grad.select(2, 4).abs().max().item<double>() == 0.0);
  // One input entry at a time. The network is piecewise linear (ReLU, max
  // pool), so a kink may lie within eps on one side of the point (checked:
  // then the other side matches to 1e-4 while the central difference is off
  // by 20%); a wrong gradient matches neither side.
  const double eps = 1e-3;
  const double r0 = r[0].item<double>(), r1 = r[1].item<double>(), r2 = r[2].item<double>();
  for (int k = 0; k < 24; ++k) {
    const int64_t i = k % 3, j = (k * 17) % 50, c = (k * 7) % 4;
    at::Tensor up = probs.clone(), down = probs.clone();
    up[i][j][c] += eps;
    down[i][j][c] -= eps;
    const double at_point = i == 0 ? r0 : i == 1 ? r1 : r2;
    const double forward =
        (oracle->score(svdd::Samples(up, domain))[i].item<double>() - at_point) / eps;
    const double backward =
        (at_point - oracle->score(svdd::Samples(down, domain))[i].item<double>()) / eps;
    const double analytic = grad[i][j][c].item<double>();
    const double tolerance = 1e-3 + 0.01 * std::abs(analytic);
    INFO("row " << i << ", position " << j << ", letter " << c << ": forward " << forward
                << ", backward " << backward << ", analytic " << analytic);
    CHECK((std::abs(forward - analytic) < tolerance || std::abs(backward - analytic) < tolerance));
  }
  SECTION("one-hot probabilities score as their tokens") {
    const at::Tensor tokens = at::randint(0, 4, {4, 50}, at::kLong);
    const at::Tensor onehot = at::one_hot(tokens, 5).to(at::kFloat);
    CHECK(at::allclose(oracle->score(svdd::Samples(onehot, domain)),
                       oracle->score(svdd::Samples(tokens, domain)), 1e-6, 1e-6));
  }
}

TEST_CASE("a masked sequence scores the oracle's invalid_value, not NaN", "[sequence][oracle]") {
  auto oracle = rna_guide();
  const svdd::Domain domain = seq::sequence_domain(seq::Alphabet::rna, 50);
  // The card's lowest training target.
  CHECK(oracle->invalid_value() > 0.0);
  CHECK(oracle->invalid_value() < 3.0);
  at::manual_seed(1);
  at::Tensor tokens = at::randint(0, 4, {3, 50}, at::kLong);
  const at::Tensor clean = oracle->score(svdd::Samples(tokens, domain));
  tokens[1][17] = 4;
  const at::Tensor scores = oracle->score(svdd::Samples(tokens, domain));
  CHECK_FALSE(scores.isnan().any().item<bool>());
  CHECK(scores[1].item<double>() == oracle->invalid_value());
  CHECK(scores[0].item<double>() == clean[0].item<double>());
  CHECK(scores[2].item<double>() == clean[2].item<double>());
}

// Sequence tables: letters in either case (an RNA table's lower-case t was
// refused while a, c and g were taken), and a bad row named by its line in
// the file, blank lines counted, not by its index among the kept rows.
TEST_CASE("sequence tables take either case and name bad rows by file line",
          "[plugins][sequence]") {
  svdd::test::TempDir dir;
  seq::SequenceDataParams params;
  params.sequence_column = "seq";
  params.target_column = "y";
  params.alphabet = "rna";
  params.file = dir.write("rna.csv", "seq,y\nacgt,1.0\nACGU,2.0\n\nggtt,3.0\n").string();
  const auto data = seq::load_sequence_data(params, dir.path(), seq::SplitPart::all);
  REQUIRE(data.tokens.size(0) == 3);
  const auto decoded = seq::sequence_domain(seq::Alphabet::rna, 4).decode(data.tokens);
  CHECK(decoded[0] == "ACGU");
  CHECK(decoded[2] == "GGUU");

  params.file = dir.write("bad.csv", "seq,y\nACGU,1.0\n\nACXU,2.0\n").string();
  CHECK_THROWS_WITH(seq::load_sequence_data(params, dir.path(), seq::SplitPart::all),
                    Contains("bad.csv: line 4: column 'seq', position 3: 'X' is not one of ACGU"));
  params.file = dir.write("short.csv", "seq,y\nACGU,1.0\n\nACG,2.0\n").string();
  CHECK_THROWS_WITH(seq::load_sequence_data(params, dir.path(), seq::SplitPart::all),
                    Contains("short.csv: line 4: column 'seq' has a sequence of 3 letters"));
}
