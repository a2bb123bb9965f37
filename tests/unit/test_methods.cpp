// Particle methods and resampling: expected copies of each scheme, group
// isolation, SMC and FK steering towards the exact tilted target, beam,
// SVDD-R, the rollout value and compute matching.
#include <cmath>
#include <map>
#include <set>

#include "catch_torch.hpp"
#include "svdd/methods/guidance_gradient.hpp"
#include "svdd/methods/particle_groups.hpp"
#include "svdd/methods/resampling.hpp"
#include "svdd/run/runner.hpp"
#include "toy_fixture.hpp"

using svdd::test::ToyFixture;

namespace {

std::string categorical(const std::string& methods, int64_t steps = 128) {
  return R"(
[experiment]
name = "methods"
[model]
type = "toy.categorical"
length = 4
vocab = 4
seed = 3
steps = )" +
         std::to_string(steps) +
         R"(
[reward]
type = "toy.token_count"
token = "A"
)" + methods;
}

}  // namespace

TEST_CASE("particle groups: group_size 0 is one group, the last group holds the rest",
          "[unit][particle_groups]") {
  using Spans = std::vector<std::pair<int64_t, int64_t>>;
  auto spans = [](const svdd::ParticleGroups& groups) {
    Spans out;
    for (auto [begin, width] : groups) out.emplace_back(begin, width);
    return out;
  };
  svdd::ParticleGroups uneven(10, 4);
  CHECK(uneven.particles() == 10);
  CHECK(uneven.group_size() == 4);
  REQUIRE(uneven.count() == 3);
  CHECK(spans(uneven) == Spans{{0, 4}, {4, 4}, {8, 2}});
  CHECK(uneven[2].end() == 10);
  CHECK(uneven.sizes().equal(at::tensor({4L, 4L, 2L})));

  svdd::ParticleGroups whole(10, 0);
  CHECK(whole.group_size() == 10);
  CHECK(spans(whole) == Spans{{0, 10}});
  CHECK(spans(svdd::ParticleGroups(3, 8)) == Spans{{0, 3}});
  CHECK(spans(svdd::ParticleGroups(8, 4)) == Spans{{0, 4}, {4, 4}});
  CHECK(svdd::ParticleGroups(0, 0).count() == 0);

  // Resampling and the ESS see the same groups.
  at::Tensor ess = svdd::effective_sample_size(at::zeros({10}, at::kDouble), 4);
  CHECK(ess.allclose(at::tensor({4.0, 4.0, 2.0}, at::kDouble)));
}

namespace {

// Method's defaults only: the pretrained step, every particle kept.
class DefaultsOnly final : public svdd::Method {};

// Draws `candidates` children per particle and keeps what the default select
// keeps, recording it and whether the lent transition is the parents'.
class DefaultSelectProbe final : public svdd::Method {
 public:
  explicit DefaultSelectProbe(int64_t candidates) : candidates_(candidates) {}
  int64_t candidates_per_particle() const override { return candidates_; }
  at::Tensor select(const svdd::StepCandidates& c, svdd::DecodeContext& context) override {
    at::Tensor kept = Method::select(c, context);
    all_kept_first_child =
        all_kept_first_child && kept.equal(at::arange(c.parents.size(0), at::kLong) * candidates_);
    lent_parents_transition =
        lent_parents_transition &&
        c.transition.x0_hat().equal(context.model().transition(c.parents, c.step)->x0_hat());
    ++steps;
    return kept;
  }
  bool all_kept_first_child = true;
  bool lent_parents_transition = true;
  int steps = 0;

 private:
  int64_t candidates_;
};

}  // namespace

TEST_CASE("the default select keeps every particle; select is lent the parents' transition",
          "[unit][method]") {
  ToyFixture toy(categorical("[methods.pretrained]\ntype = \"pretrained\"\n", 16));
  auto decode = [&](svdd::Method& method, int64_t samples, uint64_t seed) {
    svdd::Cost cost;
    svdd::DecodeOptions options;
    options.samples = samples;
    return svdd::decode_batch(method, toy.model(), toy.reward(), cost,
                              at::make_generator<at::CPUGeneratorImpl>(seed), options);
  };
  // A method that overrides nothing is the pretrained sampler.
  DefaultsOnly defaults;
  CHECK(decode(defaults, 64, 5).equal(toy.decode("pretrained", 64, 5).samples));
  for (int64_t candidates : {1, 3}) {
    INFO("candidates " << candidates);
    DefaultSelectProbe probe(candidates);
    CHECK(decode(probe, 8, 6).size(0) == 8);
    CHECK(probe.steps == 16);
    CHECK(probe.all_kept_first_child);
    CHECK(probe.lent_parents_transition);
  }
}

TEST_CASE("resampling schemes give the expected number of copies", "[unit][resampling]") {
  const std::vector<double> w{0.05, 0.15, 0.3, 0.5};
  at::Tensor log_w = at::tensor(w, at::kDouble).log();
  const int64_t n = 4;
  auto generator = at::make_generator<at::CPUGeneratorImpl>(7);
  for (auto scheme : {svdd::ResamplingScheme::systematic, svdd::ResamplingScheme::stratified,
                      svdd::ResamplingScheme::residual, svdd::ResamplingScheme::multinomial}) {
    const int reps = 5000;
    at::Tensor counts = at::zeros({n}, at::kDouble);
    for (int r = 0; r < reps; ++r) {
      at::Tensor a = svdd::resample(log_w, 0, scheme, generator);
      at::Tensor c = at::bincount(a, {}, n).to(at::kDouble);
      if (scheme == svdd::ResamplingScheme::systematic ||
          scheme == svdd::ResamplingScheme::residual) {
        // Low-variance schemes: floor(N w) or ceil(N w) copies, always.
        for (int64_t i = 0; i < n; ++i) {
          const double c_i = c[i].item<double>();
          REQUIRE(c_i >= std::floor(n * w[i]));
          REQUIRE(c_i <= std::ceil(n * w[i]));
        }
      }
      counts += c;
    }
    // Unbiased: mean copies N w_i, within 5 standard errors (copies <= N).
    for (int64_t i = 0; i < n; ++i) {
      INFO("scheme " << int(scheme) << " particle " << i);
      const double mean = counts[i].item<double>() / reps;
      CHECK(std::abs(mean - n * w[i]) < 5 * std::sqrt(n * w[i] * (1 - w[i]) / reps) + 1e-9);
    }
  }
}

TEST_CASE("resampling never crosses groups", "[unit][resampling]") {
  // Two groups of 4: all weight of group 0 on particle 1, of group 1 on 6.
  at::Tensor log_w = at::full({8}, -INFINITY, at::kDouble);
  log_w[1] = 0.0;
  log_w[6] = 3.0;
  log_w[4] = 2.0;
  auto generator = at::make_generator<at::CPUGeneratorImpl>(1);
  for (auto scheme : {svdd::ResamplingScheme::multinomial, svdd::ResamplingScheme::systematic,
                      svdd::ResamplingScheme::stratified, svdd::ResamplingScheme::residual}) {
    at::Tensor a = svdd::resample(log_w, 4, scheme, generator);
    CHECK(a.slice(0, 0, 4).eq(1).all().item<bool>());
    CHECK(a.slice(0, 4, 8).ge(4).all().item<bool>());
    CHECK(at::isin(a.slice(0, 4, 8), at::tensor({4L, 6L})).all().item<bool>());
  }
  at::Tensor ess = svdd::effective_sample_size(at::zeros({6}, at::kDouble), 4);
  CHECK(ess.allclose(at::tensor({4.0, 2.0}, at::kDouble)));
  CHECK_THROWS_WITH(svdd::resampling_scheme("bogus"), Catch::Contains("unknown scheme 'bogus'"));
}

TEST_CASE("SMC and FK steering with the exact value approach the tilted target",
          "[unit][statistical][smc]") {
  ToyFixture toy(categorical(R"(
[methods.pretrained]
type = "pretrained"
[methods.smc]
type = "smc"
alpha = 0.25
value = "exact"
resampling = "systematic"
[methods.fk]
type = "fk_steering"
alpha = 0.25
value = "exact"
interval = 4
)"));
  const double alpha = 0.25;
  const int64_t n = 4000;
  const double noise = svdd::test::tv_noise_bound(toy.target(alpha), n, 1e-4) +
                       svdd::test::reveal_collision_probability(4, 128);
  const double pretrained = toy.target_distance(toy.decode("pretrained", n, 1).samples, alpha);
  auto smc = toy.decode("smc", n, 2);
  const double smc_tv = toy.target_distance(smc.samples, alpha);
  const double fk_tv = toy.target_distance(toy.decode("fk", n, 3).samples, alpha);
  INFO("TV pretrained " << pretrained << ", smc " << smc_tv << ", fk " << fk_tv << "; noise "
                        << noise);
  // One population of 4000 particles resampled together: near the target,
  // up to the noise floor (resampling correlates particles, so allow 1.5x).
  CHECK(smc_tv < 1.5 * noise);
  CHECK(fk_tv < 1.5 * noise);
  CHECK(smc_tv < pretrained / 2);
  // One proposal per particle and step: pretrained's denoiser cost.
  CHECK(smc.cost.denoiser_rows == n * 128);
}

// SVDD-R's global mode (Algorithm 2) on the exact toy. Resampling only at
// the last step (start = T), where the value is the reward itself: with one
// candidate the local selection keeps the pretrained sample, so the final
// resampling by exp(r / alpha) is sampling-importance-resampling to the
// tilted target at alpha; with many candidates the local selection alone
// reaches that target (as SVDD does) and the resampling tilts it once more,
// to the target at alpha / 2. Resampling every 16th step tilts further
// still: more reward than SVDD, yet not one sample copied across the batch
// (every step, 128 resamplings, copies one string into the whole batch).
TEST_CASE("SVDD-R's global mode resamples to the tilt its algorithm implies",
          "[unit][statistical][svdd_r]") {
  ToyFixture toy(categorical(R"(
[methods.sir]
type = "svdd_r"
mode = "global"
candidates = 1
alpha = 0.5
value = "exact"
start = 128
[methods.twice]
type = "svdd_r"
mode = "global"
candidates = 32
alpha = 0.5
value = "exact"
start = 128
[methods.svdd]
type = "svdd"
candidates = 32
alpha = 0.5
value = "exact"
[methods.every]
type = "svdd_r"
mode = "global"
candidates = 4
alpha = 0.5
value = "exact"
resampling = "systematic"
interval = 16
)"));
  const double alpha = 0.5;
  const int64_t n = 4000;
  const auto noise = [&](double a) {
    return svdd::test::tv_noise_bound(toy.target(a), n, 1e-4) +
           svdd::test::reveal_collision_probability(4, 128);
  };
  const double sir = toy.target_distance(toy.decode("sir", n, 2).samples, alpha);
  INFO("M = 1, last step: TV to the target at alpha " << sir << ", noise " << noise(alpha));
  // One population of n resampled together: allow 1.5x the noise floor, as
  // for SMC.
  CHECK(sir < 1.5 * noise(alpha));

  const auto svdd_run = toy.decode("svdd", n, 3);
  const double svdd_tv = toy.target_distance(svdd_run.samples, alpha);
  const auto twice = toy.decode("twice", n, 4);
  const double twice_half = toy.target_distance(twice.samples, alpha / 2);
  const double twice_full = toy.target_distance(twice.samples, alpha);
  INFO("M = 32, last step: TV to the target at alpha / 2 " << twice_half << ", at alpha "
                                                           << twice_full << "; SVDD's TV to "
                                                           << "its target " << svdd_tv);
  // SVDD's own distance to its target bounds what its finite M leaves.
  CHECK(twice_half < 1.5 * noise(alpha / 2) + svdd_tv);
  CHECK(twice_full > 1.5 * twice_half);

  const auto every = toy.decode("every", n, 5);
  const double every_reward = every.rewards.mean().item<double>();
  const double svdd_reward = svdd_run.rewards.mean().item<double>();
  const auto distinct = std::get<0>(at::unique_dim(every.samples, 0)).size(0);
  INFO("every 16th step: mean reward " << every_reward << " against SVDD's " << svdd_reward << ", "
                                       << distinct << " distinct samples");
  CHECK(every_reward > svdd_reward + 6 * 0.5 / std::sqrt(double(n)));
  CHECK(distinct > 1);
}

TEST_CASE("SMC resamples within groups and reports its ESS", "[unit][smc]") {
  ToyFixture toy(categorical(R"(
[methods.smc]
type = "smc"
alpha = 0.05
value = "exact"
group_size = 2
ess_threshold = 1.0
)",
                             16));
  // With groups of two, a group can only ever hold copies of its own two
  // chains; with a strong tilt, most groups end as two copies of one sample.
  auto decoded = toy.decode("smc", 400, 4);
  at::Tensor pairs = decoded.samples.view({200, 2, 4});
  const double identical =
      pairs.select(1, 0).eq(pairs.select(1, 1)).all(1).to(at::kDouble).mean().item<double>();
  CHECK(identical > 0.3);
  CHECK(decoded.rewards.mean().item<double>() > 0.5);
}

TEST_CASE("beam, SVDD-R and the rollout value raise the reward", "[unit][statistical]") {
  ToyFixture toy(categorical(R"(
[methods.pretrained]
type = "pretrained"
[methods.beam]
type = "beam"
candidates = 4
group_size = 8
[methods.svdd_r]
type = "svdd_r"
candidates = 4
replace_fraction = 0.1
[methods.rollout]
type = "svdd"
candidates = 4
value = { type = "rollout", rollouts = 2 }
)",
                             32));
  const int64_t n = 256;
  const double se = 0.5 / std::sqrt(double(n));
  const double base = toy.decode("pretrained", n, 1).rewards.mean().item<double>();
  for (const char* method : {"beam", "svdd_r", "rollout"}) {
    auto decoded = toy.decode(method, n, 2);
    INFO(method << " mean " << decoded.rewards.mean().item<double>() << " vs " << base);
    CHECK(decoded.rewards.mean().item<double>() > base + 6 * se);
  }
  // Rollouts from step s cost s denoiser rows each.
  auto rollout = toy.decode("rollout", 8, 3);
  CHECK(rollout.cost.denoiser_rows > 8 * 32 * 4);
}

namespace {

const std::string kGmm = R"(
[experiment]
name = "dps"
[model]
type = "toy.gmm"
steps = 50
[reward]
type = "toy.position_reward"
centre = [2.0, -2.0]
[methods.pretrained]
type = "pretrained"
[methods.dps]
type = "dps"
guidance_scale = 0.5
)";

}  // namespace

TEST_CASE("the DPS gradient matches finite differences", "[unit][dps]") {
  ToyFixture toy(kGmm);
  at::Tensor x_t = at::tensor({0.5f, -1.0f, -2.5f, 1.5f, 3.0f, 0.2f}).view({3, 2});
  for (int step : {40, 10, 2}) {
    at::Tensor g = svdd::posterior_mean_reward_gradient(toy.model(), toy.reward(), x_t, step);
    REQUIRE(g.sizes() == x_t.sizes());
    auto r = [&](const at::Tensor& x) {
      at::NoGradGuard no_grad;
      at::Tensor x0 = toy.model().transition(x.to(at::kDouble).to(at::kFloat), step)->x0_hat();
      return toy.reward().score(svdd::Samples(x0, toy.model().domain()));
    };
    const double h = 1e-2;
    for (int64_t i = 0; i < 3; ++i) {
      for (int64_t j = 0; j < 2; ++j) {
        at::Tensor plus = x_t.clone(), minus = x_t.clone();
        plus[i][j] += h;
        minus[i][j] -= h;
        const double fd = (r(plus)[i].item<double>() - r(minus)[i].item<double>()) / (2 * h);
        INFO("step " << step << " [" << i << "][" << j << "] analytic " << g[i][j].item<double>()
                     << " finite difference " << fd);
        CHECK(g[i][j].item<double>() == Approx(fd).epsilon(0.02).margin(2e-3));
      }
    }
  }
}

TEST_CASE("DPS raises a differentiable reward, on Gaussian and token models", "[unit][dps]") {
  ToyFixture gmm(kGmm);
  const int64_t n = 400;
  auto base = gmm.decode("pretrained", n, 1);
  auto dps = gmm.decode("dps", n, 2);
  const double se =
      std::sqrt((base.rewards.var().item<double>() + dps.rewards.var().item<double>()) / n);
  CHECK(dps.rewards.mean().item<double>() > base.rewards.mean().item<double>() + 6 * se);

  ToyFixture tokens(categorical(R"(
[methods.pretrained]
type = "pretrained"
[methods.dps]
type = "dps"
guidance_scale = 20.0
)",
                                32));
  auto t_base = tokens.decode("pretrained", n, 3);
  auto t_dps = tokens.decode("dps", n, 4);
  CHECK(t_dps.rewards.mean().item<double>() >
        t_base.rewards.mean().item<double>() + 6 * 0.5 / std::sqrt(double(n)));
}

TEST_CASE("DPS with a non-differentiable reward is refused before any work", "[unit][dps]") {
  svdd::test::TempDir dir;
  svdd::Registry registry;
  svdd::register_core_components(registry);
  std::string text = categorical("[methods.dps]\ntype = \"dps\"\n");
  const std::string reward = "type = \"toy.token_count\"\ntoken = \"A\"";
  text.replace(text.find(reward), reward.size(), "type = \"toy.hash_reward\"");
  auto file = dir.write("e.toml", text);
  svdd::RunOptions options;
  options.out_dir = dir.path() / "out";
  options.progress = false;
  auto experiment = svdd::load_experiment(file, {}, registry);
  CHECK_THROWS_WITH(
      svdd::run_experiment(experiment, registry, options),
      Catch::Contains("[methods.dps]") && Catch::Contains("dps needs a differentiable reward"));
  CHECK_FALSE(std::filesystem::exists(dir.path() / "out" / "batches.csv"));
}

TEST_CASE("SVDD-R nears the tilted target only as replace_fraction goes to 0",
          "[unit][statistical]") {
  // SVDD-R re-applies the exp(v/alpha) tilt to the replaced particles at every
  // step, so over T = 128 steps it concentrates beyond the target; with a
  // vanishing fraction it is SVDD.
  ToyFixture toy(categorical(R"(
[methods.pretrained]
type = "pretrained"
[methods.svdd_r]
type = "svdd_r"
candidates = 16
alpha = 0.25
value = "exact"
[sweep]
methods.svdd_r.replace_fraction = [0.001, 0.05]
)"));
  const int64_t n = 1000;
  const double alpha = 0.25;
  const double pretrained = toy.target_distance(toy.decode("pretrained", n, 1).samples, alpha);
  auto small = toy.decode("svdd_r[replace_fraction=0.001]", n, 2);
  auto large = toy.decode("svdd_r[replace_fraction=0.05]", n, 3);
  const double tv_small = toy.target_distance(small.samples, alpha);
  const double tv_large = toy.target_distance(large.samples, alpha);
  INFO("TV pretrained " << pretrained << ", fraction 0.001: " << tv_small
                        << ", 0.05: " << tv_large);
  CHECK(tv_small < pretrained / 2);
  CHECK(tv_large > tv_small + 0.2);
  CHECK(large.rewards.mean().item<double>() > small.rewards.mean().item<double>());
}

TEST_CASE("SMC resamples exactly when the ESS falls below its threshold", "[unit][smc]") {
  svdd::test::TempDir dir;
  svdd::Registry registry;
  svdd::register_core_components(registry);
  auto file = dir.write("e.toml", categorical(R"(
[methods.smc]
type = "smc"
alpha = 0.1
value = "exact"
group_size = 16
ess_threshold = 0.6
)",
                                              32));
  svdd::RunOptions options;
  options.out_dir = dir.path() / "out";
  options.progress = false;
  svdd::run_experiment(
      svdd::load_experiment(
          file, {"experiment.samples=64", "experiment.batch_size=64", "experiment.threads=1"},
          registry),
      registry, options);
  // Per step: the ESS (as a share of the particles, before resampling) lies
  // in (0, 1]; resampling is reported at every step whose ESS fell below the
  // threshold for some group, and always at the last step.
  std::map<int, double> ess;
  std::set<int> resampled;
  for (const auto& row : svdd::read_csv(dir.path() / "out" / "diagnostics.csv")) {
    const int step = std::stoi(row.at("step"));
    if (row.at("name") == "ess_fraction") ess[step] = std::stod(row.at("value"));
    if (row.at("name") == "resampled_groups") resampled.insert(step);
  }
  REQUIRE(ess.size() == 32);
  for (const auto& [step, fraction] : ess) {
    INFO("step " << step);
    CHECK(fraction > 0.0);
    CHECK(fraction <= 1.0 + 1e-12);
    // A mean below the threshold means some group is below it.
    if (fraction < 0.6) CHECK(resampled.count(step) == 1);
  }
  CHECK(resampled.count(1) == 1);
  CHECK(resampled.size() > 1);
}
