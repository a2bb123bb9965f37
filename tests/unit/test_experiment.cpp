// Experiment files: strict parsing, --set overrides and sweep expansion.
#include <fmt/format.h>
#include <sys/stat.h>

#include <algorithm>

#include "catch_torch.hpp"
#include "svdd/error.hpp"
#include "toy_fixture.hpp"

using Catch::Contains;
using svdd::test::TempDir;

namespace {

const std::string kBase = R"([experiment]
name = "parse"
samples = 8

[model]
type = "toy.categorical"
steps = 16

[reward]
type = "toy.token_count"

[methods.pretrained]
type = "pretrained"

[methods.svdd]
type = "svdd"
candidates = 4
)";

svdd::Registry core_registry() {
  svdd::Registry r;
  svdd::register_core_components(r);
  return r;
}

svdd::Experiment load(const std::string& text, std::vector<std::string> sets = {}) {
  TempDir dir;
  auto registry = core_registry();
  return svdd::load_experiment(dir.write("experiment.toml", text), sets, registry);
}

std::string load_error(const std::string& text, std::vector<std::string> sets = {}) {
  try {
    load(text, sets);
  } catch (const svdd::InputError& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

// A method named with a line break was written to samples.csv but silently
// missing from the summaries; names, counts and the experiment's folder
// name that cannot work are refused before any work (issue 13).
TEST_CASE("names and counts that cannot round-trip or fit are refused", "[unit][config]") {
  CHECK_THAT(load_error(kBase + "[methods.\"two\\nlines\"]\ntype = \"pretrained\"\n"),
             Contains("[methods.two") && Contains("control character"));
  CHECK_THAT(load_error(kBase + "[methods.\"cr\\r\"]\ntype = \"pretrained\"\n"),
             Contains("control character"));
  const std::string sweep =
      kBase + "[sweep]\nmethods.svdd.value = [\"exact\", \"posterior_mean\"]\n";
  CHECK_NOTHROW(load(sweep));
  CHECK_THAT(load_error(kBase, {"experiment.name=\"\""}), Contains("name: must be a folder name"));
  CHECK_THAT(load_error(kBase, {"experiment.name=\"../up\""}),
             Contains("name: must be a folder name"));
  CHECK_THAT(load_error(kBase, {"experiment.samples=9223372036854775807"}),
             Contains("samples: must be at most 1000000000"));
  CHECK(load(kBase, {"experiment.samples=1000000000"}).settings.samples == 1000000000);
}

// nan passed a model's unbounded sharpness and inf an SVDD alpha's ">= 0",
// and both failed deep in the run with a libtorch backtrace; 2^63-1 steps
// was narrowed to -1 and reported as "must be at least 1"; a count of 2^63-1
// candidates overflowed the rows of a step (issue 13 items 6, 7 and 11).
TEST_CASE("floats must be finite, ints fit before narrowing, counts are bounded",
          "[unit][config]") {
  CHECK_THAT(load_error(kBase, {"model.sharpness=nan"}),
             Contains("[model] sharpness: must be a finite number, got nan"));
  CHECK_THAT(load_error(kBase, {"model.sharpness=-inf"}),
             Contains("[model] sharpness: must be a finite number, got -inf"));
  CHECK_THAT(load_error(kBase, {"methods.svdd.alpha=inf"}),
             Contains("[methods.svdd] alpha: must be a finite number, got inf"));
  CHECK_THAT(load_error(kBase, {"experiment.target_alpha=nan"}),
             Contains("[experiment] target_alpha: must be a finite number"));
  CHECK_THAT(load_error(kBase + "[methods.c]\ntype = \"pretrained\"\n",
                        {"reward={type=\"composite\",terms=[\"toy.hash_reward\"],weights=[nan]}"}),
             Contains("[reward] weights: must be a finite number, got nan"));
  CHECK_NOTHROW(load(kBase, {"model.sharpness=1e300"}));

  CHECK_THAT(load_error(kBase, {"model.steps=9223372036854775807"}),
             Contains("[model] steps: must be in [-2147483648, 2147483647]"));
  CHECK_THAT(load_error(kBase, {"model.steps=2147483648"}),
             Contains("[model] steps: must be in [-2147483648, 2147483647]"));
  CHECK_THAT(load_error(kBase, {"model.steps=-9223372036854775807"}),
             Contains("[model] steps: must be in [-2147483648, 2147483647]"));
  CHECK_THAT(load_error(kBase, {"model.steps=0"}), Contains("[model] steps: must be at least 1"));
  CHECK(load(kBase, {"model.steps=2147483647"}).effective_toml.find("steps = 2147483647") !=
        std::string::npos);

  CHECK_THAT(load_error(kBase, {"methods.svdd.candidates=9223372036854775807"}),
             Contains("[methods.svdd] candidates: must be at most 1000000"));
  CHECK_NOTHROW(load(kBase, {"methods.svdd.candidates=1000000"}));
  const std::string best_of_n = kBase + "[methods.bon]\ntype = \"best_of_n\"\n";
  CHECK_THAT(load_error(best_of_n, {"methods.bon.n=1000000000"}),
             Contains("[methods.bon] n: must be at most 1000000"));
}

TEST_CASE("a folder or a FIFO given as the experiment file is named as such", "[unit][config]") {
  TempDir dir;
  auto registry = core_registry();
  auto error = [&](const std::filesystem::path& file) {
    try {
      svdd::load_experiment(file, {}, registry);
    } catch (const svdd::InputError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  CHECK_THAT(error(dir.path()), Contains("is a directory, not a TOML file"));
  CHECK_THAT(error(dir.path() / "none.toml"), Contains("experiment file not found"));
  const auto fifo = dir.path() / "pipe.toml";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  CHECK_THAT(error(fifo), Contains("is not a regular file"));
}

TEST_CASE("an unknown key is refused with file, line, table and key", "[unit][config]") {
  std::string text = kBase + "candidats = 5\n";
  const auto message = load_error(text);
  CHECK_THAT(message, Contains("experiment.toml:18:1"));
  CHECK_THAT(message, Contains("[methods.svdd]"));
  CHECK_THAT(message, Contains("unknown key 'candidats'"));
  CHECK_THAT(message, Contains("candidates"));  // the keys that exist
}

TEST_CASE("wrong types, invalid values and unknown names are refused", "[unit][config]") {
  CHECK_THAT(load_error(kBase, {"methods.svdd.candidates=\"ten\""}),
             Contains("[methods.svdd] candidates: expected an integer"));
  CHECK_THAT(load_error(kBase, {"methods.svdd.candidates=0"}), Contains("must be at least 1"));
  CHECK_THAT(load_error(kBase, {"methods.svdd.type=svd"}),
             Contains("unknown method 'svd' (known: beam, best_of_n, classifier_guidance, dps, "
                      "fk_steering, pretrained, smc, svdd, svdd_r)"));
  CHECK_THAT(load_error(kBase, {"reward.type=toy.nothing"}),
             Contains("unknown reward 'toy.nothing'"));
  CHECK_THAT(load_error(kBase + "[experimnt]\n"), Contains("unknown top-level key 'experimnt'"));
  CHECK_THAT(load_error(kBase, {"experiment.samples=1.5"}),
             Contains("samples: expected an integer"));
  CHECK_THAT(load_error("[model\n"), Contains("TOML syntax error"));
  CHECK_THAT(load_error(kBase, {"experiment.data_dir=/no/such/folder"}),
             Contains("data_dir: file not found: /no/such/folder"));
  CHECK_THAT(
      load_error("[model]\ntype = \"toy.categorical\"\n[reward]\ntype = \"toy.token_count\"\n"),
      Contains("missing [methods] table"));
  auto registry = core_registry();
  CHECK_THROWS_WITH(svdd::load_experiment("/no/such.toml", {}, registry),
                    Contains("experiment file not found"));
}

TEST_CASE("overrides (--set) change values and refuse unknown keys", "[unit][config]") {
  auto e = load(
      kBase, {"methods.svdd.candidates=7", "experiment.samples=3", "model.type=toy.categorical"});
  REQUIRE(e.runs.size() == 2);
  CHECK(e.settings.samples == 3);
  CHECK_THAT(e.effective_toml, Contains("candidates = 7"));
  CHECK_THAT(load_error(kBase, {"methods.svdd.alphaa=0.1"}), Contains("unknown key 'alphaa'"));
  CHECK_THAT(load_error(kBase, {"novalue"}), Contains("expected key.path=value"));
  CHECK_THAT(load_error(kBase, {"model.type.x=1"}), Contains("'model.type' is not a table"));
}

TEST_CASE("[sweep] expands into one named run per combination", "[unit][config]") {
  auto e = load(kBase + R"(
[sweep]
methods.svdd.candidates = [1, 2, 5]
"methods.svdd.alpha" = [0.0, 0.1]
model.steps = [8, 16]
)");
  std::vector<std::string> labels;
  for (const auto& run : e.runs) labels.push_back(run.label);
  // pretrained varies only with the global key; svdd with all three.
  CHECK(labels.size() == 2 + 3 * 2 * 2);
  CHECK(std::count(labels.begin(), labels.end(), "pretrained[model.steps=8]") == 1);
  CHECK(std::count(labels.begin(), labels.end(), "svdd[candidates=5,alpha=0.1,model.steps=16]") ==
        1);
  CHECK_THAT(load_error(kBase + "[sweep]\nmethods.nosuch.candidates = [1]\n"),
             Contains("not a key of this experiment"));
  CHECK_THAT(load_error(kBase + "[sweep]\nmethods.svdd.candidates = 3\n"),
             Contains("expected a non-empty array"));
  CHECK_THAT(load_error(kBase + "[sweep]\nmethods.svdd.candidates = [1, 0]\n"),
             Contains("must be at least 1"));
}

// A 4 KB file with three sweep axes of 300 values expanded into 27 million
// copies of its tables and ran out of memory (seen reading sweep.cpp for the
// experiment-file fuzz target, which ran out of memory on it); a sweep that
// large is refused before expansion.
TEST_CASE("a sweep of more runs than any comparison needs is refused", "[unit][config]") {
  std::string values = "[1";
  for (int i = 2; i <= 30; ++i) values += ", " + std::to_string(i);
  values += "]";
  const std::string sweep = kBase + "[sweep]\nmethods.svdd.candidates = " + values +
                            "\nmodel.steps = " + values + "\nexperiment.seed = " + values + "\n";
  CHECK_THAT(load_error(sweep), Contains("[sweep] gives method 'svdd' more than 10000 runs") &&
                                    Contains("30 x 30 x 30"));
  // 30 x 30 runs are fine (and pretrained, varying with two axes, too).
  const std::string smaller =
      kBase + "[sweep]\nmethods.svdd.candidates = " + values + "\nmodel.steps = " + values + "\n";
  CHECK(load(smaller).runs.size() == 30 + 30 * 30);
}

TEST_CASE("the effective configuration fills in defaults and reloads", "[unit][config]") {
  auto e = load(kBase);
  CHECK_THAT(e.effective_toml, Contains("alpha = 0.0"));
  CHECK_THAT(e.effective_toml, Contains("type = 'posterior_mean'"));
  CHECK_THAT(e.effective_toml, Contains("length = 4"));
  auto again = load(e.effective_toml);
  CHECK(again.effective_toml == e.effective_toml);
}

TEST_CASE("composite rewards add weighted terms and locate bad ones", "[unit][config]") {
  const std::string head = R"([model]
type = "toy.categorical"
[methods.p]
type = "pretrained"
[reward]
type = "composite"
)";
  svdd::test::ToyFixture toy(head + R"(terms = [
  { type = "toy.token_count", token = "A" },
  { type = "toy.token_count", token = "B" },
]
weights = [1.0, -0.5]
)");
  at::Tensor x = at::tensor({0L, 0L, 1L, 2L, 1L, 1L, 1L, 1L}).view({2, 4});  // AABC, BBBB
  at::Tensor r = toy.reward().score(svdd::Samples(x, toy.model().domain()));
  CHECK(r[0].item<double>() == Approx(0.5 - 0.5 * 0.25));
  CHECK(r[1].item<double>() == Approx(-0.5));
  CHECK(toy.reward().differentiable());
  CHECK_THAT(toy.experiment().effective_toml, Contains("weights = [ 1.0, -0.5 ]"));

  CHECK_THAT(
      load_error(head + "terms = [ { type = \"toy.token_count\" } ]\nweights = [1.0, 2.0]\n"),
      Contains("[reward] weights: must have one weight per term"));
  std::string bad = head + "terms = [ \"toy.hash_reward\", { type = \"toy.nope\" } ]\n";
  svdd::test::TempDir dir;
  auto registry = core_registry();
  auto experiment = svdd::load_experiment(dir.write("e.toml", bad), {}, registry);
  CHECK_THROWS_WITH(
      registry.make<svdd::ComponentKind::reward>(
          experiment.runs[0].reward, svdd::BuildContext{},
          svdd::test::ToyFixture(head + "terms = [\"toy.hash_reward\"]\n").model().domain()),
      Contains("[reward.terms[1]] type: unknown reward 'toy.nope'"));
}

// Three defects of the bad-input probe (issue 13 item 14): a --set value
// with a line break carried TOML that no key took, silently; an error in a
// swept value pointed at the method's line instead of the sweep's; and a
// repeated sweep value made two runs of one name (the second then shared
// the first's batches on resume and in the summary).
TEST_CASE("a --set value is one value, sweep errors point at the sweep, run names are unique",
          "[unit][config]") {
  CHECK_THAT(load_error(kBase, {"methods.svdd.candidates=3\n[model]\nsteps=9"}),
             Contains("--set methods.svdd.candidates: the value holds a line break"));

  // The error names the sweep key's line, not the line of candidates = 4.
  const std::string swept = kBase + "\n[sweep]\n\"methods.svdd.candidates\" = [2, -1]\n";
  const auto line_of = [&](const std::string& text, const std::string& what) {
    const std::string before = text.substr(0, text.find(what));
    return std::count(before.begin(), before.end(), '\n') + 1;
  };
  CHECK_THAT(load_error(swept),
             Contains(fmt::format("experiment.toml:{}:", line_of(swept, "\"methods.svdd"))) &&
                 Contains("[methods.svdd] candidates: must be at least 1"));

  const std::string repeated = kBase + "\n[sweep]\n\"methods.svdd.candidates\" = [2, 3, 2]\n";
  CHECK_THAT(load_error(repeated),
             Contains("gives method 'svdd' two runs named 'svdd[candidates=2]'"));
}
