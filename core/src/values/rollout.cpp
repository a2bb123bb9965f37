// The rollout value: run K pretrained chains from x_s down to x_0 and average
// their rewards, v(x_s) = mean_k r(x_0^(k)) (or the soft form
// alpha log mean_k exp(r/alpha), an estimate of the exact soft value).
// Expensive (K * s denoiser rows per row) but unbiased: a reference for
// checking cheaper estimators, and for studies.
#include <ATen/ATen.h>
#include <fmt/format.h>

#include <cmath>

#include "svdd/error.hpp"
#include "svdd/registry.hpp"
#include "values/soft_mean.hpp"

namespace svdd {
namespace {

struct RolloutParams {
  int64_t rollouts = 8;
  std::string estimate = "mean";
  void visit(ParamVisitor& v) {
    v.field("rollouts", rollouts, "K: pretrained chains per scored row");
    v.at_least("rollouts", rollouts, 1);
    v.at_most("rollouts", rollouts, kMostPerSample);
    v.field("estimate", estimate,
            "\"mean\": mean reward; \"soft\": alpha log mean exp(r/alpha) (needs alpha > 0)");
    v.require(estimate == "mean" || estimate == "soft", "estimate", "must be \"mean\" or \"soft\"");
  }
};

class RolloutValue final : public ValueEstimator {
 public:
  RolloutValue(DiffusionModel& model, RewardOracle& reward, int64_t rollouts, double soft_alpha)
      : model_(model), reward_(reward), rollouts_(rollouts), soft_alpha_(soft_alpha) {}

  at::Tensor value(const at::Tensor& x_s, int step, at::Generator& generator) override {
    if (step == 0) return reward_.score(Samples(x_s, model_.domain()));
    at::Tensor x = x_s.repeat_interleave(rollouts_, 0);
    for (int t = step; t >= 1; --t) x = model_.transition(x, t)->sample(1, generator);
    at::Tensor r = reward_.score(Samples(x, model_.domain())).to(at::kDouble).view({-1, rollouts_});
    return soft_mean(r, soft_alpha_);
  }

 private:
  DiffusionModel& model_;
  RewardOracle& reward_;
  int64_t rollouts_;
  double soft_alpha_;
};

}  // namespace

void register_rollout_value(Registry& registry) {
  registry.add<ComponentKind::value, RolloutParams>(
      "rollout", "mean reward of K pretrained rollouts from x_t (slow, unbiased reference)",
      [](const RolloutParams& p, const ValueDeps& deps) {
        if (p.estimate == "soft" && deps.alpha <= 0) {
          throw InputError("estimate = \"soft\" needs the method's alpha > 0");
        }
        return std::make_unique<RolloutValue>(deps.model, deps.reward, p.rollouts,
                                              p.estimate == "soft" ? deps.alpha : 0.0);
      });
}

}  // namespace svdd
