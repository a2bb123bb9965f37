// The sampled look-ahead value `sampled_x0` (core/src/values/sampled_x0.cpp)
// on the toys, where the exact E[r | x_t] is known: on toy.categorical the
// denoiser's per-position marginals are exact and toy.token_count is additive
// over positions, so the mean of K draws is an unbiased estimate of
// E[r | x_t] whose squared error falls as 1/K, while SVDD-PM's r(x0_hat)
// (the argmax string) is biased; on the Gaussian toy it is r(x0_hat).
#include <c10/core/InferenceMode.h>

#include "catch_torch.hpp"
#include "svdd/params.hpp"
#include "svdd/registry.hpp"
#include "toy_fixture.hpp"

using svdd::test::ToyFixture;

namespace {

const std::string kCategorical = R"(
[experiment]
name = "sampled_x0"
[model]
type = "toy.categorical"
length = 4
vocab = 4
seed = 3
steps = 32
[reward]
type = "toy.token_count"
token = "A"
[methods.pretrained]
type = "pretrained"
[methods.svdd]
type = "svdd"
candidates = 4
value = { type = "sampled_x0", samples = 4 }
)";

// The toy's reward, counting the rows it scores.
class CountingReward final : public svdd::RewardOracle {
 public:
  explicit CountingReward(svdd::RewardOracle& inner) : inner_(inner) {}
  at::Tensor score(const svdd::Samples& samples) override {
    rows += samples.size();
    return inner_.score(samples);
  }
  double invalid_value() const override { return inner_.invalid_value(); }
  int64_t rows = 0;

 private:
  svdd::RewardOracle& inner_;
};

std::unique_ptr<svdd::ValueEstimator> make_value(ToyFixture& toy, svdd::RewardOracle& reward,
                                                 const std::string& table, double alpha) {
  svdd::BuildContext build;
  build.registry = &toy.registry();
  return toy.registry().make<svdd::ComponentKind::value>(
      svdd::parse_component(table, "value"), svdd::ValueDeps{toy.model(), reward, alpha, build});
}

std::unique_ptr<svdd::ValueEstimator> make_value(ToyFixture& toy, const std::string& table,
                                                 double alpha) {
  return make_value(toy, toy.reward(), table, alpha);
}

}  // namespace

TEST_CASE("sampled_x0 estimates E[r | x_t] with an error that falls as 1/K", "[unit][sampled_x0]") {
  ToyFixture toy(kCategorical);
  c10::InferenceMode guard;
  const auto& exact = *toy.model().exact();
  const at::Tensor point_rewards =
      toy.reward()
          .score(svdd::Samples(exact.quadrature().points, toy.model().domain()))
          .to(at::kDouble);
  // States at every step of 200 pretrained chains.
  auto generator = at::make_generator<at::CPUGeneratorImpl>(11);
  std::vector<at::Tensor> states;
  std::vector<int> steps;
  at::Tensor x = toy.model().prior(200, generator);
  for (int t = 32; t >= 1; --t) {
    states.push_back(x);
    steps.push_back(t);
    x = toy.model().transition(x, t)->sample(1, generator);
  }
  auto squared_error = [&](svdd::ValueEstimator& value, int64_t seed) {
    auto g = at::make_generator<at::CPUGeneratorImpl>(seed);
    double sum = 0;
    int64_t n = 0;
    for (size_t i = 0; i < states.size(); ++i) {
      const at::Tensor truth = exact.posterior(states[i], steps[i]).matmul(point_rewards);
      sum += (value.value(states[i], steps[i], g) - truth).pow(2).sum().item<double>();
      n += truth.numel();
    }
    return sum / double(n);
  };
  auto k4 = make_value(toy, "type = \"sampled_x0\"\nsamples = 4", 0.0);
  auto k16 = make_value(toy, "type = \"sampled_x0\"\nsamples = 16", 0.0);
  auto pm = make_value(toy, "type = \"posterior_mean\"", 0.0);
  const double e4 = squared_error(*k4, 1), e16 = squared_error(*k16, 2),
               e_pm = squared_error(*pm, 3);
  INFO("MSE to E[r | x_t] over 6,400 states: K = 4 " << e4 << ", K = 16 " << e16
                                                     << ", posterior_mean " << e_pm);
  // Unbiased: the error is the variance of a mean of K draws, 4 times
  // smaller at 16 (6,400 states: the ratio's estimate within about 10%).
  CHECK(e4 / e16 > 3.2);
  CHECK(e4 / e16 < 5.0);
  // The argmax string's reward is a biased estimate; 16 draws beat it.
  CHECK(e16 < 0.5 * e_pm);

  // alpha > 0: the soft value of the same draws is at least their mean.
  auto soft = make_value(toy, "type = \"sampled_x0\"\nsamples = 16", 0.5);
  auto g1 = at::make_generator<at::CPUGeneratorImpl>(5);
  auto g2 = at::make_generator<at::CPUGeneratorImpl>(5);
  const at::Tensor mean_value = k16->value(states[16], steps[16], g1);
  const at::Tensor soft_value = soft->value(states[16], steps[16], g2);
  CHECK((soft_value - mean_value).min().item<double>() >= -1e-12);
  CHECK((soft_value - mean_value).max().item<double>() > 0.0);
  // At step 0 the value is the reward.
  auto g3 = at::make_generator<at::CPUGeneratorImpl>(5);
  CHECK(k4->value(x, 0, g3).equal(toy.reward().score(svdd::Samples(x, toy.model().domain()))));

  // Cost: K reward calls per row (one at step 0, where it is the reward).
  CountingReward counting(toy.reward());
  auto counted = make_value(toy, counting, "type = \"sampled_x0\"\nsamples = 4", 0.0);
  counted->value(states[10], steps[10], g3);
  CHECK(counting.rows == 200 * 4);
  counted->value(x, 0, g3);
  CHECK(counting.rows == 200 * 4 + 200);
}

TEST_CASE("SVDD with sampled_x0 raises the reward", "[unit][sampled_x0][statistical]") {
  ToyFixture toy(kCategorical);
  const int64_t n = 256;
  const double se = 0.5 / std::sqrt(double(n));
  const double base = toy.decode("pretrained", n, 1).rewards.mean().item<double>();
  auto guided = toy.decode("svdd", n, 2);
  INFO("pretrained mean " << base << ", svdd with sampled_x0 " << guided.rewards.mean());
  CHECK(guided.rewards.mean().item<double>() > base + 6 * se);
}

TEST_CASE("sampled_x0 on a Gaussian model is SVDD-PM's r(x0_hat)", "[unit][sampled_x0]") {
  ToyFixture toy(R"(
[experiment]
name = "sampled_x0_gmm"
[model]
type = "toy.gmm"
steps = 20
[reward]
type = "toy.position_reward"
centre = [2.0, -2.0]
[methods.pretrained]
type = "pretrained"
)");
  c10::InferenceMode guard;
  auto sampled = make_value(toy, "type = \"sampled_x0\"\nsamples = 8", 0.0);
  auto pm = make_value(toy, "type = \"posterior_mean\"", 0.0);
  auto generator = at::make_generator<at::CPUGeneratorImpl>(3);
  const at::Tensor x = toy.model().prior(64, generator);
  CHECK(sampled->value(x, 10, generator).equal(pm->value(x, 10, generator)));
}
