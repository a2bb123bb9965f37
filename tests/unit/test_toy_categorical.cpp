// Statistical checks of pretrained sampling and SVDD on toy.categorical,
// where p_pre and the tilted target p_pre exp(r/alpha) / Z are exact.
// Tolerances come from the sample size (tv_noise_bound) and the masked
// reverse step's known error (reveal_collision_probability).
#include "catch_torch.hpp"
#include "toy_fixture.hpp"

using svdd::test::ToyFixture;

namespace {

constexpr int64_t kLength = 4;
constexpr int64_t kSteps = 256;

std::string toy_experiment(const std::string& methods) {
  return R"(
[experiment]
name = "toy"
[model]
type = "toy.categorical"
length = 4
vocab = 4
steps = 256
seed = 3
[reward]
type = "toy.token_count"
token = "A"
)" + methods;
}

}  // namespace

TEST_CASE("pretrained samples of toy.categorical match p_pre", "[toy][statistical]") {
  ToyFixture toy(toy_experiment("[methods.pretrained]\ntype = \"pretrained\"\n"));
  const int64_t n = 4000;
  auto decoded = toy.decode("pretrained", n, 11);
  const double tv = toy.target_distance(decoded.samples, -1.0);
  const double tolerance = svdd::test::tv_noise_bound(toy.target(-1.0), n) +
                           svdd::test::reveal_collision_probability(kLength, kSteps);
  INFO("TV " << tv << " tolerance " << tolerance);
  CHECK(tv < tolerance);
  CHECK(decoded.cost.denoiser_rows == n * kSteps);
  CHECK(decoded.cost.reward_calls == 0);
}

TEST_CASE("exact-value SVDD approaches the tilted target as M grows", "[toy][statistical]") {
  ToyFixture toy(toy_experiment(R"(
[methods.svdd]
type = "svdd"
alpha = 0.25
value = "exact"
[sweep]
methods.svdd.candidates = [1, 4, 64]
)"));
  const double alpha = 0.25;
  const int64_t n = 4000;
  std::map<int64_t, double> tv;
  for (int64_t m : {1, 4, 64}) {
    auto decoded = toy.decode("svdd[candidates=" + std::to_string(m) + "]", n, 100 + m);
    tv[m] = toy.target_distance(decoded.samples, alpha);
  }
  const double noise = svdd::test::tv_noise_bound(toy.target(alpha), n, 1e-4) +
                       svdd::test::reveal_collision_probability(kLength, kSteps);
  const double pretrained_to_target =
      0.5 * (toy.target(-1.0) - toy.target(alpha)).abs().sum().item<double>();
  INFO("TV M=1 " << tv[1] << ", M=4 " << tv[4] << ", M=64 " << tv[64] << "; noise " << noise
                 << "; TV(p_pre, target) " << pretrained_to_target);
  // M = 1 is pretrained sampling: as far from the target as p_pre is.
  CHECK(std::abs(tv[1] - pretrained_to_target) < noise);
  CHECK(pretrained_to_target > 2 * noise);
  // Wide margins: M = 4 already halves the distance, M = 64 shrinks it
  // further, down to the sampling noise floor.
  CHECK(tv[4] < tv[1] / 2);
  CHECK(tv[64] < tv[4]);
  CHECK(tv[64] < noise);
}

TEST_CASE("alpha = 0 SVDD concentrates on the highest reward", "[toy][statistical]") {
  ToyFixture toy(toy_experiment(R"(
[methods.pretrained]
type = "pretrained"
[methods.greedy]
type = "svdd"
candidates = 16
alpha = 0.0
value = "exact"
)"));
  const int64_t n = 1000;
  auto pretrained = toy.decode("pretrained", n, 5);
  auto greedy = toy.decode("greedy", n, 6);
  const double top = greedy.rewards.eq(1.0).to(at::kDouble).mean().item<double>();
  const double p_top = toy.target(-1.0)[0].item<double>();  // bin 0 is "AAAA"
  INFO("share of AAAA " << top << " (p_pre " << p_top << "), mean reward "
                        << greedy.rewards.mean().item<double>() << " vs pretrained "
                        << pretrained.rewards.mean().item<double>());
  // Greedy selection keeps every candidate that can still reach AAAA; ties
  // between "revealed an A" and "revealed nothing" push reveals late, so
  // not every chain ends at AAAA, but most do and the mean reward is high.
  CHECK(top > 0.5);
  CHECK(top > 10 * p_top);
  CHECK(greedy.rewards.mean().item<double>() > 0.85);
}

TEST_CASE("SVDD-PM and best-of-N raise the reward on toy.categorical", "[toy][statistical]") {
  ToyFixture toy(toy_experiment(R"(
[methods.pretrained]
type = "pretrained"
[methods.best_of_n]
type = "best_of_n"
n = 8
[methods.svdd_pm]
type = "svdd"
candidates = 8
)"));
  const int64_t n = 500;
  auto pretrained = toy.decode("pretrained", n, 1);
  auto best = toy.decode("best_of_n", n, 2);
  auto pm = toy.decode("svdd_pm", n, 3);
  // Rewards lie in [0, 1]: the standard error of a mean is at most 0.5/sqrt(n).
  const double se = 0.5 / std::sqrt(double(n));
  CHECK(best.rewards.mean().item<double>() > pretrained.rewards.mean().item<double>() + 6 * se);
  CHECK(pm.rewards.mean().item<double>() > pretrained.rewards.mean().item<double>() + 6 * se);
  // Cost counters: best-of-8 runs 8 chains and scores each final sample once.
  CHECK(best.cost.denoiser_rows == 8 * n * kSteps);
  CHECK(best.cost.reward_calls == 8 * n);
  CHECK(pm.cost.value_calls > 0);
  CHECK(pm.cost.denoiser_rows >= n * kSteps);
}
