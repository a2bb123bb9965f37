// The sampled look-ahead value: K draws of x_0 from the denoiser's own
// prediction at x_t, combined as the soft value,
//   v(x_t) = alpha * log (1/K) sum_k exp(r(x_0^(k)) / alpha)   (alpha > 0),
//   v(x_t) = (1/K) sum_k r(x_0^(k))                             (alpha = 0).
// Masked (discrete) models draw every still-masked token from the predicted
// per-position probabilities (the unmasked ones stay), the one-step
// "lookahead" of the soft value that SVDD-PM's r(x0_hat) replaces by the
// argmax (Li et al. 2024, arXiv:2408.08252, section 4.1, where x0_hat is
// the mean of this prediction). Where the reward is additive over positions
// the mean is then exact under the denoiser's factorised prediction, which
// the argmax is not. Gaussian models give no spread of x_0 given x_t through
// DiffusionModel, so there it is r(x0_hat), SVDD-PM's value, at one reward
// call. Cost: one denoiser row per row (as posterior_mean) and K reward
// calls (1 for Gaussian models); between posterior_mean and rollout, whose
// K chains cost K * t denoiser rows.
#include <ATen/ATen.h>

#include <cmath>

#include "svdd/registry.hpp"
#include "values/soft_mean.hpp"

namespace svdd {
namespace {

struct SampledX0Params {
  int64_t samples = 8;
  void visit(ParamVisitor& v) {
    v.field("samples", samples,
            "K: draws of x_0 from the denoiser's prediction per scored row (K reward calls; "
            "Gaussian models: 1, r(x0_hat))");
    v.at_least("samples", samples, 1);
    v.at_most("samples", samples, kMostPerSample);
  }
};

class SampledX0Value final : public ValueEstimator {
 public:
  SampledX0Value(DiffusionModel& model, RewardOracle& reward, int64_t samples, double alpha)
      : model_(model), reward_(reward), samples_(samples), alpha_(alpha) {}

  at::Tensor value(const at::Tensor& x_s, int step, at::Generator& generator) override {
    if (step == 0) return reward_.score(Samples(x_s, model_.domain()));
    auto transition = model_.transition(x_s, step);
    const at::Tensor probs = transition->x0_probs();  // [B, L, V] or undefined
    if (!probs.defined()) return reward_.score(Samples(transition->x0_hat(), model_.domain()));
    const int64_t rows = probs.size(0), length = probs.size(1), vocab = probs.size(2);
    // [B * L, K] token draws, then row b's k-th draw is x_0 row b * K + k.
    const at::Tensor tokens = at::multinomial(probs.reshape({rows * length, vocab}), samples_,
                                              /*replacement=*/true, generator);
    const at::Tensor x0 =
        tokens.view({rows, length, samples_}).permute({0, 2, 1}).reshape({rows * samples_, length});
    const at::Tensor r = reward_.score(Samples(x0, model_.domain())).to(at::kCPU, at::kDouble);
    return soft_mean(r.view({rows, samples_}), alpha_);
  }

 private:
  DiffusionModel& model_;
  RewardOracle& reward_;
  int64_t samples_;
  double alpha_;
};

}  // namespace

void register_sampled_x0_value(Registry& registry) {
  registry.add<ComponentKind::value, SampledX0Params>(
      "sampled_x0",
      "soft value of K draws of x_0 from the denoiser's prediction at x_t (alpha log mean "
      "exp(r/alpha), the mean at alpha = 0): one denoiser row and K reward calls per row",
      [](const SampledX0Params& p, const ValueDeps& deps) {
        return std::make_unique<SampledX0Value>(deps.model, deps.reward, p.samples, deps.alpha);
      });
}

}  // namespace svdd
