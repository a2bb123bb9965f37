// The posterior-mean soft value of SVDD-PM (Li et al. 2024, section 4.1):
// v(x_s) = r(x0_hat(x_s)), the reward of the model's own denoised prediction.
// Training-free; costs one denoiser row and one reward call per row.
#include "svdd/registry.hpp"

namespace svdd {
namespace {

struct PosteriorMeanParams {
  void visit(ParamVisitor&) {}
};

class PosteriorMeanValue final : public ValueEstimator {
 public:
  PosteriorMeanValue(DiffusionModel& model, RewardOracle& reward)
      : model_(model), reward_(reward) {}

  at::Tensor value(const at::Tensor& x_s, int step, at::Generator&) override {
    if (step == 0) return reward_.score(Samples(x_s, model_.domain()));
    at::Tensor x0_hat = model_.transition(x_s, step)->x0_hat();
    return reward_.score(Samples(x0_hat, model_.domain()));
  }

 private:
  DiffusionModel& model_;
  RewardOracle& reward_;
};

}  // namespace

void register_posterior_mean_value(Registry& registry) {
  registry.add<ComponentKind::value, PosteriorMeanParams>(
      "posterior_mean", "r(x0_hat(x_t)): reward of the denoised prediction (SVDD-PM)",
      [](const PosteriorMeanParams&, const ValueDeps& deps) {
        return std::make_unique<PosteriorMeanValue>(deps.model, deps.reward);
      });
}

}  // namespace svdd
