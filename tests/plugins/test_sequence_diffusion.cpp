// The sequence plugin's masked diffusion: the MDLM objective and bound, the
// denoiser's shapes, k-mer statistics counted by hand, a short training run
// through `svdd train`'s code path, and the trained model in an experiment.
#include <fmt/format.h>

#include <cmath>
#include <fstream>
#include <set>
#include <sstream>

#include "catch_torch.hpp"
#include "conv_denoiser.hpp"
#include "kmer_statistics.hpp"
#include "needs_data.hpp"
#include "sequence_data.hpp"
#include "sequence_diffusion.hpp"
#include "sequence_rewards.hpp"
#include "svdd/config/experiment.hpp"
#include "svdd/error.hpp"
#include "svdd/families/masked_diffusion.hpp"
#include "svdd/run/runner.hpp"
#include "svdd/trainer.hpp"
#include "svdd/training/card.hpp"
#include "svdd/training/masked_diffusion_training.hpp"
#include "svdd/util/seeding.hpp"
#include "toy_fixture.hpp"

using Catch::Contains;
namespace seq = svdd::sequence;

namespace {

// Logits that ignore their input: every letter equally likely.
class UniformDenoiser final : public svdd::MaskedDenoiser {
 public:
  at::Tensor logits(const at::Tensor& x_t, const at::Tensor&) override {
    return at::zeros({x_t.size(0), x_t.size(1), 5}, at::kFloat);
  }
};

svdd::Registry sequence_registry() {
  svdd::Registry registry;
  svdd::register_core_components(registry);
  seq::register_sequence_rewards(registry);
  seq::register_sequence_diffusion(registry);
  seq::register_mdlm_training(registry);
  return registry;
}

svdd::TrainingOptions options_for(const std::filesystem::path& file) {
  svdd::TrainingOptions options;
  options.file = file;
  return options;
}

std::string read_text(const std::filesystem::path& file) {
  std::ifstream in(file);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace

TEST_CASE("MDLM loss and bound of a uniform denoiser are L log 4 in expectation",
          "[sequence][mdlm]") {
  UniformDenoiser uniform;
  at::Tensor x0 = at::randint(0, 4, {64, 20}, at::kLong);
  // One term: (1/t) * (masked positions) * log 4, exactly.
  at::Tensor t = at::full({64}, 0.25f);
  at::Tensor u = at::rand({64, 20});
  at::Tensor loss = svdd::masked_diffusion_loss(uniform, x0, t, 4, u);
  at::Tensor masked = u.lt(0.25f).sum(1).to(at::kFloat);
  CHECK(at::allclose(loss, masked * std::log(4.0f) / 0.25f, 1e-4, 1e-4));

  // The bound: mean over the t grid of (1/t) Binomial(L, t) log 4, whose
  // expectation is L log 4; 64 rows x 16 points keep the noise small.
  std::vector<uint64_t> seeds;
  for (uint64_t i = 0; i < 64; ++i) seeds.push_back(i);
  at::Tensor elbo = svdd::masked_diffusion_elbo(uniform, x0, 4, 16, seeds);
  CHECK(elbo.mean().item<double>() == Approx(-20 * std::log(4.0)).epsilon(0.05));

  SECTION("a row's bound does not depend on the batch it comes in") {
    at::Tensor alone = svdd::masked_diffusion_elbo(uniform, x0.slice(0, 3, 4), 4, 16, {3});
    CHECK(alone.item<double>() == Approx(elbo[3].item<double>()).epsilon(1e-12));
  }
}

TEST_CASE("the conv denoiser maps [B, L] tokens and t to [B, L, V] logits", "[sequence][mdlm]") {
  at::manual_seed(0);
  seq::ConvDenoiserParams params;
  params.channels = 16;
  params.dilations = {1, 2};
  seq::ConvDenoiser net(params, 5);
  at::Tensor x = at::randint(0, 5, {3, 37}, at::kLong);
  at::Tensor logits = net.logits(x, at::full({3}, 0.5f));
  CHECK(logits.sizes() == at::IntArrayRef({3, 37, 5}));
  CHECK(logits.isfinite().all().item<bool>());
  // Time conditioning matters.
  CHECK_FALSE(at::allclose(logits, net.logits(x, at::full({3}, 0.9f))));
}

TEST_CASE("k-mer frequencies are counted by hand", "[sequence][kmer]") {
  // ACGTA: 2-mers AC, CG, GT, TA, one each; a mask breaks the window.
  at::Tensor f = seq::kmer_frequencies(at::tensor({0, 1, 2, 3, 0}, at::kLong).view({1, 5}), 2);
  CHECK(f.sum().item<double>() == Approx(1.0));
  CHECK(f[0 * 4 + 1].item<double>() == Approx(0.25));  // AC
  CHECK(f[3 * 4 + 0].item<double>() == Approx(0.25));  // TA
  at::Tensor masked = seq::kmer_frequencies(at::tensor({0, 1, 4, 2, 3}, at::kLong).view({1, 5}), 2);
  CHECK(masked[0 * 4 + 1].item<double>() == Approx(0.5));  // AC
  CHECK(masked[2 * 4 + 3].item<double>() == Approx(0.5));  // GT
  // Strings count the same as tokens; RNA letters map U to the fourth code.
  CHECK(at::allclose(seq::kmer_frequencies({"ACGUA"}, "ACGU", 2), f));
  CHECK(seq::pearson(f, f) == Approx(1.0));
  CHECK(std::isnan(seq::pearson(at::ones({4}), f.slice(0, 0, 4))));
}

TEST_CASE("the element split keeps both orientations together and parts disjoint",
          "[sequence][data]") {
  const auto data =
      svdd::test::needs_data({"agarwal2025_lentimpra_hepg2/hepg2_lentimpra_200bp.tsv.gz"});
  if (!data) return;
  const std::filesystem::path& data_dir = *data;
  seq::SequenceDataParams p;
  p.file = "agarwal2025_lentimpra_hepg2/hepg2_lentimpra_200bp.tsv.gz";
  p.sequence_column = "seq200";
  p.id_column = "seq_id";
  auto test = seq::load_sequence_data(p, data_dir, seq::SplitPart::test);
  auto a = seq::load_sequence_data(p, data_dir, seq::SplitPart::train_a);
  auto b = seq::load_sequence_data(p, data_dir, seq::SplitPart::train_b);
  CHECK(test.tokens.size(0) + a.tokens.size(0) + b.tokens.size(0) == 24590);
  // About 10% / 45% / 45% of the 12,295 elements.
  CHECK(test.element_count == Approx(1230).margin(120));
  CHECK(a.element_count == Approx(5533).margin(250));
  std::set<std::string> in_a(a.elements.begin(), a.elements.end());
  for (const auto& e : b.elements) REQUIRE(in_a.count(e) == 0);
  for (const auto& e : test.elements) REQUIRE(in_a.count(e) == 0);
  // Both orientations: every element of the test part has two rows.
  CHECK(test.tokens.size(0) == 2 * test.element_count);
}

TEST_CASE("a short MDLM training lowers the bound and its model samples in a run",
          "[sequence][mdlm][data]") {
  const auto data =
      svdd::test::needs_data({"sample2019_utr_mrl/mrl_egfp_m1pseudo2_test20k.csv.gz"});
  if (!data) return;
  const std::filesystem::path& data_dir = *data;
  svdd::Registry registry = sequence_registry();
  svdd::test::TempDir dir;
  const auto file = dir.write("tiny.toml", fmt::format(R"(
[experiment]
seed = 1
threads = 1
data_dir = "{}"
[training]
type = "sequence.train_mdlm"
output = "tiny.pt"
file = "sample2019_utr_mrl/mrl_egfp_m1pseudo2_test20k.csv.gz"
sequence_column = "utr50"
alphabet = "rna"
max_rows = 512
channels = 16
dilations = [1, 2]
epochs = 3
batch_size = 64
learning_rate = 1e-2
validation_rows = 128
sample_count = 32
sample_steps = 10
)",
                                                       data_dir.string()));
  svdd::train_component(options_for(file), registry);
  const auto checkpoint = dir.path() / "tiny.pt";
  REQUIRE(std::filesystem::exists(checkpoint));
  struct Results {
    double initial = 0, final = 0, kmer = 0;
    void visit(svdd::ParamVisitor& v) {
      double ignored = 0;
      int64_t count = 0;
      std::vector<double> list;
      v.field("initial_validation_nats_per_base", initial, "");
      v.field("validation_nats_per_base", final, "");
      v.field("sample_kmer3_correlation", kmer, "");
      for (const char* key : {"validation_bits_per_base", "training_seconds", "sampling_seconds"})
        v.field(key, ignored, "");
      for (const char* key :
           {"parameters", "epochs", "steps", "validation_rows", "samples", "sample_steps"})
        v.field(key, count, "");
      for (const char* key : {"train_loss_per_epoch", "validation_nats_per_base_per_epoch"})
        v.field(key, list, "");
    }
  };
  const auto results = svdd::read_card_section<Results>(svdd::card_path(checkpoint), "results");
  CHECK(results.final < results.initial);
  CHECK(results.kmer > 0.0);
  CHECK_THAT(read_text(svdd::card_path(checkpoint)), Contains("sha1 = '"));

  SECTION("the model, its log-likelihood and the k-mer metric run in an experiment") {
    const auto run_file = dir.write("run.toml", fmt::format(R"(
[experiment]
samples = 8
batch_size = 8
threads = 1
data_dir = "{}"
[model]
type = "sequence.mdlm"
checkpoint = "tiny.pt"
steps = 10
[reward]
type = "sequence.gc_content"
[eval.log_likelihood]
type = "sequence.log_likelihood"
checkpoint = "tiny.pt"
[metrics.kmer3]
type = "sequence.kmer_correlation"
file = "sample2019_utr_mrl/mrl_egfp_m1pseudo2_test20k.csv.gz"
sequence_column = "utr50"
alphabet = "rna"
[methods.pretrained]
type = "pretrained"
[methods.svdd_pm]
type = "svdd"
candidates = 4
)",
                                                            data_dir.string()));
    auto experiment = svdd::load_experiment(run_file, {}, registry);
    svdd::RunOptions options;
    options.out_dir = (dir.path() / "out").string();
    options.progress = false;
    svdd::run_experiment(experiment, registry, options);
    const std::string summary = read_text(dir.path() / "out" / "summary.csv");
    CHECK_THAT(summary, Contains("eval_log_likelihood_median") && Contains("kmer3"));
    // method, run, batch, index, sample, ...: every sample 50 letters of
    // ACGU, no mask left.
    std::ifstream samples(dir.path() / "out" / "samples.csv");
    std::string line;
    std::getline(samples, line);
    int rows = 0;
    while (std::getline(samples, line)) {
      std::vector<std::string> fields;
      std::stringstream in(line);
      for (std::string f; std::getline(in, f, ',');) fields.push_back(f);
      REQUIRE(fields.size() > 4);
      CHECK(fields[4].size() == 50);
      CHECK(fields[4].find_first_not_of("ACGU") == std::string::npos);
      ++rows;
    }
    CHECK(rows == 16);
  }

  SECTION("a DNA metric on an RNA model is refused naming both") {
    const auto run_file = dir.write("bad.toml", fmt::format(R"(
[experiment]
data_dir = "{}"
[model]
type = "sequence.mdlm"
checkpoint = "tiny.pt"
[reward]
type = "sequence.gc_content"
[metrics.kmer3]
type = "sequence.kmer_correlation"
file = "sample2019_utr_mrl/mrl_egfp_m1pseudo2_test20k.csv.gz"
sequence_column = "utr50"
[methods.pretrained]
type = "pretrained"
)",
                                                            data_dir.string()));
    auto experiment = svdd::load_experiment(run_file, {}, registry);
    svdd::RunOptions options;
    options.out_dir = (dir.path() / "bad").string();
    options.progress = false;
    CHECK_THROWS_WITH(svdd::run_experiment(experiment, registry, options),
                      Contains("alphabet = \"dna\"") && Contains("sequence.rna"));
  }
}

TEST_CASE("a training file with an unknown key or a missing checkpoint is refused",
          "[sequence][mdlm]") {
  svdd::Registry registry = sequence_registry();
  svdd::test::TempDir dir;
  const auto file = dir.write("bad.toml", R"([training]
type = "sequence.train_mdlm"
file = "x.csv"
sequence_column = "s"
epoch = 3
)");
  CHECK_THROWS_WITH(svdd::train_component(options_for(file), registry),
                    Contains("bad.toml") && Contains("[training]") && Contains("'epoch'"));
  const auto run = dir.write("run.toml", R"([model]
type = "sequence.mdlm"
checkpoint = "nowhere.pt"
[reward]
type = "sequence.gc_content"
[methods.p]
type = "pretrained"
)");
  CHECK_THROWS_WITH(svdd::load_experiment(run, {}, registry), Contains("nowhere.pt"));
}

namespace {

// The weights of an MDLM training of random tokens: straight through
// `epochs`, or stopped after `stop_after` epochs and resumed from the state.
std::vector<at::Tensor> mdlm_weights(const std::filesystem::path& state_file, int64_t epochs,
                                     int64_t stop_after) {
  const at::Tensor x = at::randint(0, 4, {40, 12}, svdd::stream_generator(7, "tokens"), at::kLong);
  seq::ConvDenoiserParams params;
  params.channels = 8;
  params.dilations = {1, 2};
  svdd::MaskedTrainingOptions options;
  options.epochs = epochs;
  options.batch_size = 16;
  options.elbo_t_points = 2;
  options.seed = 3;
  options.state.file = state_file;
  options.state.fingerprint = "[training]\nkind = 'test'\n";
  auto train = [&](bool resume, int64_t stop) {
    at::manual_seed(11);
    seq::ConvDenoiser net(params, 5);
    options.state.resume = resume;
    options.state.stop_after_epoch = stop;
    svdd::train_masked_denoiser(net, x, x.slice(0, 0, 8), 4, options);
    return net.parameters();
  };
  if (stop_after == 0) return train(false, 0);
  CHECK_THROWS_AS(train(false, stop_after), svdd::TrainingStopped);
  return train(true, 0);
}

}  // namespace

TEST_CASE("MDLM training resumed after an epoch gives the uninterrupted weights",
          "[sequence][mdlm][resume]") {
  svdd::test::TempDir dir;
  const auto straight = mdlm_weights(dir.path() / "a.resume.pt", 3, 0);
  const auto resumed = mdlm_weights(dir.path() / "b.resume.pt", 3, 1);
  REQUIRE(straight.size() == resumed.size());
  for (size_t i = 0; i < straight.size(); ++i) CHECK(at::equal(straight[i], resumed[i]));
  // A state of another configuration is refused naming the key.
  svdd::MaskedTrainingOptions options;
  options.state.file = dir.path() / "b.resume.pt";
  options.state.resume = true;
  options.state.fingerprint = "[training]\nkind = 'other'\n";
  seq::ConvDenoiserParams params;
  params.channels = 8;
  params.dilations = {1, 2};
  seq::ConvDenoiser net(params, 5);
  const at::Tensor x = at::zeros({4, 12}, at::kLong);
  CHECK_THROWS_WITH(svdd::train_masked_denoiser(net, x, x, 4, options),
                    Contains("training.kind was 'test', is now 'other'); nothing may change"));
}
