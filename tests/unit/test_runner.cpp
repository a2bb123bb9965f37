// Running experiments: output files, determinism, resume after an
// interruption, and failures that keep finished results.
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "catch_torch.hpp"
#include "svdd/error.hpp"
#include "svdd/run/runner.hpp"
#include "svdd/run/score.hpp"
#include "toy_fixture.hpp"

using Catch::Contains;
using svdd::test::TempDir;

namespace {

// A reward that fails on demand: throws (or returns NaN) once it has been
// asked `fail_after` times. Otherwise the share of token A.
std::atomic<int> calls{0};
std::atomic<int> fail_after{-1};
std::atomic<bool> fail_with_nan{false};

struct FlakyParams {
  void visit(svdd::ParamVisitor&) {}
};

class FlakyReward final : public svdd::RewardOracle {
 public:
  at::Tensor score(const svdd::Samples& s) override {
    if (fail_after >= 0 && calls++ >= fail_after) {
      if (!fail_with_nan) throw std::runtime_error("oracle server went away");
      at::Tensor r = at::zeros({s.size()}, at::kDouble);
      r[s.size() - 1] = std::nan("");
      return r;
    }
    return s.tensor().eq(0).to(at::kDouble).mean(1);
  }
  double invalid_value() const override { return 0.0; }
};

// A method whose selection fails inside libtorch, as one over a NaN model's
// probabilities does: c10::Error's what() carries a C++ backtrace.
class TorchFailingMethod final : public svdd::Method {
 public:
  at::Tensor select(const svdd::StepCandidates&, svdd::DecodeContext&) override {
    return at::empty({-1});
  }
};

svdd::Registry test_registry() {
  svdd::Registry registry;
  svdd::register_core_components(registry);
  registry.add<svdd::ComponentKind::reward, FlakyParams>(
      "test.flaky", "fails on demand",
      [](const FlakyParams&, const svdd::BuildContext&, const svdd::Domain&) {
        return std::make_unique<FlakyReward>();
      });
  registry.add<svdd::ComponentKind::method, FlakyParams>(
      "test.torch_failing", "fails inside libtorch at its first step",
      [](const FlakyParams&, const svdd::MethodDeps&) {
        return std::make_unique<TorchFailingMethod>();
      });
  return registry;
}

const std::string kExperiment = R"([experiment]
name = "runner"
seed = 42
samples = 40
batch_size = 10

[model]
type = "toy.categorical"
steps = 16

[reward]
type = "test.flaky"

[eval.token_b]
type = "toy.token_count"
token = "B"

[methods.pretrained]
type = "pretrained"

[methods.svdd_pm]
type = "svdd"
candidates = 4

[methods.best_of_n]
type = "best_of_n"
n = 3
)";

std::string slurp(const std::filesystem::path& file) {
  std::ifstream in(file);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void run(const std::filesystem::path& file, const std::filesystem::path& out,
         const svdd::Registry& registry, bool resume = false) {
  auto experiment = svdd::load_experiment(file, {}, registry);
  svdd::RunOptions options;
  options.out_dir = out;
  options.resume = resume;
  options.progress = false;
  svdd::run_experiment(experiment, registry, options);
}

void reset_flaky() {
  calls = 0;
  fail_after = -1;
  fail_with_nan = false;
}

}  // namespace

TEST_CASE("a run writes every output file with the documented columns", "[unit][runner]") {
  reset_flaky();
  TempDir dir;
  auto registry = test_registry();
  run(dir.write("e.toml", kExperiment), dir.path() / "out", registry);
  for (const char* f :
       {"config.toml", "samples.csv", "batches.csv", "summary.csv", "summary.md", "run.log"}) {
    INFO(f);
    CHECK(std::filesystem::exists(dir.path() / "out" / f));
  }
  auto summary = svdd::read_csv(dir.path() / "out" / "summary.csv");
  REQUIRE(summary.size() == 3);
  for (const char* column :
       {"method", "samples", "reward_median", "reward_q25", "reward_q75", "reward_mean",
        "reward_median_ci95_low", "reward_median_ci95_high", "reward_top10",
        "reward_top10_ci95_low", "reward_top10_ci95_high", "denoiser_rows", "reward_calls",
        "value_calls", "wall_seconds", "eval_token_b_median", "target_distance"}) {
    INFO(column);
    CHECK(summary[0].count(column) == 1);
  }
  CHECK(summary[0].at("method") == "pretrained");
  CHECK(summary[0].at("samples") == "40");
  CHECK(summary[0].at("denoiser_rows") == std::to_string(40 * 16));
  CHECK(summary[2].at("denoiser_rows") == std::to_string(3 * 40 * 16));
  auto samples = svdd::read_csv(dir.path() / "out" / "samples.csv");
  CHECK(samples.size() == 3 * 40);
  CHECK(samples[0].at("sample").size() == 4);
  // The saved configuration reruns as it is.
  run(dir.path() / "out" / "config.toml", dir.path() / "again", registry);
  CHECK(slurp(dir.path() / "out" / "samples.csv") == slurp(dir.path() / "again" / "samples.csv"));
  // An existing result folder is never overwritten.
  CHECK_THROWS_WITH(run(dir.write("e2.toml", kExperiment), dir.path() / "out", registry),
                    Contains("already holds results"));
}

// A full disk was reported as "cannot write FILE" without the reason. Here
// summary.csv is /dev/full: the message names the file and the system's
// reason, and the finished batches stay in samples.csv.
TEST_CASE("a failed write names the file and the system's reason", "[unit][runner]") {
  reset_flaky();
  TempDir dir;
  auto registry = test_registry();
  auto file = dir.write("e.toml", kExperiment);
  const auto out = dir.path() / "full";
  std::filesystem::create_directories(out);
  std::filesystem::create_symlink("/dev/full", out / "summary.csv");
  CHECK_THROWS_WITH(
      run(file, out, registry),
      Contains("cannot write " + (out / "summary.csv").string() + ": No space left on device"));
  CHECK(svdd::read_csv(out / "samples.csv").size() == 120);
}

// Two runs in one folder at once duplicated or corrupted its rows. A run
// holds an flock on DIR/.svdd.lock; another open file description of it
// stands for another process here (flock treats both alike).
TEST_CASE("a run refuses a folder another run holds, naming its process", "[unit][runner]") {
  reset_flaky();
  TempDir dir;
  auto registry = test_registry();
  auto file = dir.write("e.toml", kExperiment);
  const auto out = dir.path() / "held";
  std::filesystem::create_directories(out);
  const int other = ::open((out / ".svdd.lock").c_str(), O_RDWR | O_CREAT, 0644);
  REQUIRE(other >= 0);
  REQUIRE(::flock(other, LOCK_EX | LOCK_NB) == 0);
  REQUIRE(::pwrite(other, "4242\n", 5, 0) == 5);
  CHECK_THROWS_AS(run(file, out, registry), svdd::InputError);
  CHECK_THROWS_WITH(run(file, out, registry),
                    Contains("held is in use by another svdd run (process 4242)"));
  CHECK_THROWS_WITH(run(file, out, registry, /*resume=*/true), Contains("process 4242"));
  CHECK_FALSE(std::filesystem::exists(out / "samples.csv"));
  ::close(other);  // the other run ends: the folder is free
  run(file, out, registry);
  CHECK(svdd::read_csv(out / "samples.csv").size() == 120);
  // A run's own lock is released when it ends: the folder can be resumed.
  run(file, out, registry, /*resume=*/true);
}

TEST_CASE("the same seed and configuration give byte-identical samples", "[unit][runner]") {
  reset_flaky();
  TempDir dir;
  auto registry = test_registry();
  auto file = dir.write("e.toml", kExperiment);
  run(file, dir.path() / "a", registry);
  run(file, dir.path() / "b", registry);
  CHECK(slurp(dir.path() / "a" / "samples.csv") == slurp(dir.path() / "b" / "samples.csv"));
  auto other = dir.write(
      "seed.toml", std::string(kExperiment).replace(kExperiment.find("seed = 42"), 9, "seed = 43"));
  run(other, dir.path() / "c", registry);
  CHECK(slurp(dir.path() / "a" / "samples.csv") != slurp(dir.path() / "c" / "samples.csv"));
}

TEST_CASE("resume after an interruption loses no batch and duplicates none", "[unit][runner]") {
  TempDir dir;
  auto registry = test_registry();
  auto file = dir.write("e.toml", kExperiment);
  reset_flaky();
  run(file, dir.path() / "reference", registry);

  // The reward fails in the middle of the second method.
  reset_flaky();
  fail_after = 12;
  CHECK_THROWS_AS(run(file, dir.path() / "interrupted", registry), svdd::RuntimeFailure);
  auto finished = svdd::read_csv(dir.path() / "interrupted" / "batches.csv");
  CHECK(finished.size() >= 4);  // pretrained's 4 batches at least
  CHECK(finished.size() < 12);
  // Finished results are kept and summarised.
  CHECK(std::filesystem::exists(dir.path() / "interrupted" / "summary.csv"));
  // A crash can leave rows of the batch in flight: resume drops them.
  {
    std::ofstream partial(dir.path() / "interrupted" / "samples.csv", std::ios::app);
    partial << "best_of_n,best_of_n,3,35,ABCD,0.25,0\n";
  }
  reset_flaky();
  run(dir.path() / "interrupted" / "config.toml", dir.path() / "interrupted", registry, true);

  CHECK(slurp(dir.path() / "reference" / "samples.csv") ==
        slurp(dir.path() / "interrupted" / "samples.csv"));
  std::set<std::pair<std::string, std::string>> batches;
  auto all = svdd::read_csv(dir.path() / "interrupted" / "batches.csv");
  for (const auto& row : all) batches.insert({row.at("run"), row.at("batch")});
  CHECK(all.size() == 12);
  CHECK(batches.size() == 12);
  // Resuming a finished run does nothing more.
  run(dir.path() / "interrupted" / "config.toml", dir.path() / "interrupted", registry, true);
  CHECK(svdd::read_csv(dir.path() / "interrupted" / "batches.csv").size() == 12);
}

TEST_CASE("a throwing or NaN reward stops the run with a clear error", "[unit][runner]") {
  TempDir dir;
  auto registry = test_registry();
  auto file = dir.write("e.toml", kExperiment);
  reset_flaky();
  fail_after = 0;
  CHECK_THROWS_WITH(run(file, dir.path() / "throws", registry),
                    Contains("reward 'test.flaky'") && Contains("oracle server went away"));
  reset_flaky();
  fail_after = 0;
  fail_with_nan = true;
  CHECK_THROWS_WITH(run(file, dir.path() / "nan", registry),
                    Contains("returned NaN") && Contains("invalid_value()"));
  reset_flaky();
}

// A libtorch error reached the user with 17-27 frames of backtrace and no
// word of which component failed (issue 13 item 6).
TEST_CASE("a libtorch error stops the run in one line naming the run and method",
          "[unit][runner]") {
  TempDir dir;
  auto registry = test_registry();
  reset_flaky();
  auto file =
      dir.write("e.toml", kExperiment + "\n[methods.broken]\ntype = \"test.torch_failing\"\n");
  try {
    run(file, dir.path() / "out", registry);
    FAIL("no error");
  } catch (const svdd::RuntimeFailure& e) {
    const std::string message = e.what();
    CHECK_THAT(message, Contains("run 'broken' (model 'toy.categorical', method "
                                 "'test.torch_failing'), batch 0: ") &&
                            Contains("negative dimension -1"));
    CHECK(message.find('\n') == std::string::npos);
    CHECK_THAT(svdd::error_message(e), !Contains("Exception raised from"));
  }
  // Finished runs before it keep their batches.
  CHECK(std::filesystem::file_size(dir.path() / "out" / "batches.csv") > 0);
}

// best_of_n with n = 10^6 on batches of 10^9 samples: 10^15 rows a step.
TEST_CASE("a run whose step cannot fit in memory is refused before any work, naming the keys",
          "[unit][runner]") {
  TempDir dir;
  auto registry = test_registry();
  reset_flaky();
  auto file = dir.write("e.toml", kExperiment);
  auto experiment =
      svdd::load_experiment(file,
                            {"experiment.samples=1000000000", "experiment.batch_size=1000000000",
                             "methods.best_of_n.n=1000000", "reward.type=toy.token_count"},
                            registry);
  svdd::RunOptions options;
  options.out_dir = dir.path() / "out";
  options.progress = false;
  CHECK_THROWS_WITH(svdd::run_experiment(experiment, registry, options),
                    Contains("each step holds batch_size 1000000000 x") &&
                        Contains("lower experiment.batch_size or the method's counts"));
  const auto samples = dir.path() / "out" / "samples.csv";
  const bool wrote_samples =
      std::filesystem::exists(samples) && std::filesystem::file_size(samples) > 0;
  CHECK_FALSE(wrote_samples);
}

TEST_CASE("components that do not fit the model are refused before any work", "[unit][runner]") {
  reset_flaky();
  TempDir dir;
  auto registry = test_registry();
  std::string text = kExperiment;
  text.replace(text.find("type = \"test.flaky\""), 19, "type = \"toy.position_reward\"");
  auto file = dir.write("e.toml", text);
  CHECK_THROWS_WITH(run(file, dir.path() / "out", registry),
                    Contains("[reward]") && Contains("needs a continuous domain"));
  CHECK_FALSE(std::filesystem::exists(dir.path() / "out" / "batches.csv"));
}

// svdd score (issue 14 item 4): a run's own samples.csv, scored again by its
// experiment, reproduces its reward and evaluation columns exactly and its
// summary's medians; a design the domain cannot encode is reported by its
// line and scored as invalid.
TEST_CASE("svdd score of a run's samples reproduces its scores; bad designs are invalid",
          "[unit][runner][score]") {
  reset_flaky();
  TempDir dir;
  auto registry = test_registry();
  const auto file = dir.write("e.toml", kExperiment);
  run(file, dir.path() / "out", registry);
  const auto experiment = svdd::load_experiment(file, {}, registry);

  svdd::ScoreOptions options;
  options.inputs = {dir.path() / "out" / "samples.csv"};
  options.column = "sample";
  options.group = "run";
  options.out_dir = dir.path() / "scored";
  svdd::score_designs(experiment, registry, options);
  const auto original = svdd::read_csv(dir.path() / "out" / "samples.csv");
  const auto scored = svdd::read_csv(dir.path() / "scored" / "samples.csv");
  REQUIRE(scored.size() == original.size());
  // Rows of one run keep their order; runs follow in order of appearance.
  for (size_t i = 0; i < original.size(); ++i) {
    INFO("row " << i);
    for (const char* column : {"run", "sample", "reward", "eval_token_b"}) {
      CHECK(scored[i].at(column) == original[i].at(column));
    }
  }
  const auto run_summary = svdd::read_csv(dir.path() / "out" / "summary.csv");
  const auto score_summary = svdd::read_csv(dir.path() / "scored" / "summary.csv");
  REQUIRE(score_summary.size() == run_summary.size());
  for (size_t i = 0; i < run_summary.size(); ++i) {
    for (const char* column : {"run", "samples", "reward_median", "eval_token_b_median",
                               "diversity", "target_distance"}) {
      INFO(column);
      CHECK(score_summary[i].at(column) == run_summary[i].at(column));
    }
  }

  // One design per line: "ABZD" has a letter of no token, "AB" is short.
  const auto designs = dir.write("designs.txt", "ABCD\n\nABZD\nAB\nDDDD\n");
  svdd::ScoreOptions lines;
  lines.inputs = {designs};
  lines.labels = {"elsewhere"};
  lines.out_dir = dir.path() / "lines";
  svdd::score_designs(experiment, registry, lines);
  const auto rows = svdd::read_csv(dir.path() / "lines" / "samples.csv");
  REQUIRE(rows.size() == 4);
  CHECK(rows[0].at("run") == "elsewhere");
  CHECK(rows[0].at("reward") == "0.25");  // one A in four tokens
  CHECK(rows[1].at("sample") == "ABZD");  // kept as given
  CHECK(rows[1].at("reward") == "0");     // the reward's invalid_value
  CHECK(rows[2].at("reward") == "0");
  CHECK(rows[3].at("reward") == "0");  // no A
  const std::string log = slurp(dir.path() / "lines" / "run.log");
  CHECK_THAT(log, Contains("designs.txt:3: not a sample of toy.categorical: position 3"));
  CHECK_THAT(log, Contains("designs.txt:4: not a sample of toy.categorical: 2 tokens"));
  CHECK(svdd::read_csv(dir.path() / "lines" / "summary.csv").at(0).at("samples") == "4");

  svdd::ScoreOptions clash = lines;
  clash.inputs = {designs, designs};
  clash.labels = {};
  clash.out_dir = dir.path() / "clash";
  CHECK_THROWS_WITH(svdd::score_designs(experiment, registry, clash),
                    Contains("both give rows named 'designs'"));
}

namespace {

// A summary.csv row by its run label.
std::map<std::string, std::string> summary_row(const std::filesystem::path& dir,
                                               const std::string& label) {
  for (const auto& row : svdd::read_csv(dir / "summary.csv")) {
    if (row.at("run") == label) return row;
  }
  FAIL("no summary row " << label << " in " << dir);
  return {};
}

}  // namespace

TEST_CASE("[experiment] seeds runs each run once per seed, as runs of each seed alone would",
          "[unit][runner][seeds]") {
  reset_flaky();
  TempDir dir;
  auto registry = test_registry();
  std::string text = kExperiment;
  text.replace(text.find("seed = 42"), 9, "seed = 42\nseeds = [3, 5, 8]");
  text += "\n[methods.matched]\ntype = \"best_of_n\"\nmatch_compute_of = \"svdd_pm\"\n";
  run(dir.write("seeds.toml", text), dir.path() / "seeds", registry);
  const auto seeded = svdd::read_csv(dir.path() / "seeds" / "samples.csv");
  CHECK(seeded.size() == 3 * 4 * 40);

  for (const int seed : {3, 5, 8}) {
    std::string single = kExperiment;
    single.replace(single.find("seed = 42"), 9, fmt::format("seed = {}", seed));
    single += "\n[methods.matched]\ntype = \"best_of_n\"\nmatch_compute_of = \"svdd_pm\"\n";
    const auto out = dir.path() / fmt::format("seed{}", seed);
    run(dir.write(fmt::format("seed{}.toml", seed), single), out, registry);
    // samples.csv: the same rows but for the run label.
    std::vector<std::string> expected, got;
    for (const auto& row : svdd::read_csv(out / "samples.csv")) {
      expected.push_back(row.at("run") + "|" + row.at("batch") + "|" + row.at("index") + "|" +
                         row.at("sample") + "|" + row.at("reward") + "|" + row.at("eval_token_b"));
    }
    const std::string suffix = fmt::format("[seed={}]", seed);
    for (const auto& row : seeded) {
      const std::string& label = row.at("run");
      if (label.size() < suffix.size() || label.substr(label.size() - suffix.size()) != suffix)
        continue;
      got.push_back(label.substr(0, label.size() - suffix.size()) + "|" + row.at("batch") + "|" +
                    row.at("index") + "|" + row.at("sample") + "|" + row.at("reward") + "|" +
                    row.at("eval_token_b"));
    }
    CHECK(got == expected);
    // summary.csv: every figure but the label and the time.
    for (const char* method : {"pretrained", "svdd_pm", "best_of_n", "matched"}) {
      auto alone = summary_row(out, method);
      auto replicate = summary_row(dir.path() / "seeds", std::string(method) + suffix);
      for (auto* row : {&alone, &replicate}) {
        row->erase("run");
        row->erase("wall_seconds");
        for (const char* seeds_column :
             {"seeds", "reward_median_seed_mean", "reward_median_seed_sd", "reward_top10_seed_mean",
              "reward_top10_seed_sd", "eval_token_b_median_seed_mean",
              "eval_token_b_median_seed_sd", "diversity_seed_mean", "diversity_seed_sd"}) {
          row->erase(seeds_column);
        }
      }
      INFO(method << " at seed " << seed);
      CHECK(alone == replicate);
    }
  }
  // The pooled rows: all samples of the three seeds, and each figure's mean
  // and sd over the seeds' rows.
  for (const char* method : {"pretrained", "svdd_pm", "best_of_n", "matched"}) {
    INFO(method);
    const auto pooled = summary_row(dir.path() / "seeds", method);
    CHECK(pooled.at("seeds") == "3");
    CHECK(pooled.at("samples") == "120");
    std::vector<double> medians_of_seeds;
    for (const int seed : {3, 5, 8}) {
      const auto row = summary_row(dir.path() / "seeds", fmt::format("{}[seed={}]", method, seed));
      medians_of_seeds.push_back(std::stod(row.at("eval_token_b_median")));
      CHECK(row.at("seeds").empty());
    }
    const double mean = (medians_of_seeds[0] + medians_of_seeds[1] + medians_of_seeds[2]) / 3;
    double squares = 0;
    for (double m : medians_of_seeds) squares += (m - mean) * (m - mean);
    CHECK(std::stod(pooled.at("eval_token_b_median_seed_mean")) == Approx(mean).margin(1e-5));
    CHECK(std::stod(pooled.at("eval_token_b_median_seed_sd")) ==
          Approx(std::sqrt(squares / 2)).margin(1e-5));
  }
}

TEST_CASE("a run with seeds resumes after an interruption as if never stopped",
          "[unit][runner][seeds]") {
  TempDir dir;
  auto registry = test_registry();
  std::string text = kExperiment;
  text.replace(text.find("seed = 42"), 9, "seed = 42\nseeds = [1, 2]");
  const auto file = dir.write("e.toml", text);
  reset_flaky();
  run(file, dir.path() / "reference", registry);
  reset_flaky();
  fail_after = 30;
  CHECK_THROWS_AS(run(file, dir.path() / "interrupted", registry), svdd::RuntimeFailure);
  reset_flaky();
  run(dir.path() / "interrupted" / "config.toml", dir.path() / "interrupted", registry, true);
  CHECK(slurp(dir.path() / "reference" / "samples.csv") ==
        slurp(dir.path() / "interrupted" / "samples.csv"));
  CHECK(svdd::read_csv(dir.path() / "interrupted" / "batches.csv").size() == 2 * 3 * 4);
}

TEST_CASE("[experiment] seeds refuses repeated seeds", "[unit][runner][seeds]") {
  TempDir dir;
  auto registry = test_registry();
  std::string text = kExperiment;
  text.replace(text.find("seed = 42"), 9, "seeds = [1, 1]");
  CHECK_THROWS_WITH(svdd::load_experiment(dir.write("e.toml", text), {}, registry),
                    Contains("seeds") && Contains("must not repeat"));
}
