// Diffusion posterior sampling (Chung et al. 2023, "Diffusion Posterior
// Sampling for General Noisy Inverse Problems", Algorithm 1) with a reward in
// place of the measurement likelihood. Continuous models: each pretrained
// step is moved along d r(x0_hat(x_t)) / d x_t, times guidance_scale.
// Discrete models (as the SVDD authors' DPS baseline does on tokens): the
// revealed tokens are drawn from the denoiser's probabilities tilted by
// exp(guidance_scale * d r / d p), the reward's gradient with respect to the
// one-hot representation. Needs a differentiable reward, or a differentiable
// surrogate named in the method's table; refused before any work otherwise.
#include <ATen/ATen.h>
#include <fmt/format.h>

#include "methods/gradient_guided.hpp"
#include "svdd/error.hpp"
#include "svdd/methods/guidance_gradient.hpp"
#include "svdd/registry.hpp"

namespace svdd {
namespace {

struct DpsParams {
  double guidance_scale = 1.0;
  ComponentSpec surrogate;
  void visit(ParamVisitor& v) {
    v.field("guidance_scale", guidance_scale, "step size along the reward gradient");
    v.non_negative("guidance_scale", guidance_scale);
    v.field("surrogate", surrogate,
            "a differentiable reward to take gradients of, when the run's reward is not one "
            "(a table { type = ..., ... }); empty: the run's reward");
  }
};

class Dps final : public GradientGuided {
 public:
  Dps(double scale, RewardOracle& reward, std::unique_ptr<RewardOracle> owned)
      : GradientGuided(scale), reward_(reward), owned_(std::move(owned)) {}

 private:
  at::Tensor gradient(Transition& transition, const at::Tensor& x_t, int step,
                      DecodeContext& context) override {
    DiffusionModel& model = context.model();
    if (model.domain().discrete()) {
      return x0_probability_reward_gradient(transition, reward_, model.domain());
    }
    return posterior_mean_reward_gradient(model, reward_, x_t, step);
  }

  RewardOracle& reward_;
  std::unique_ptr<RewardOracle> owned_;
};

}  // namespace

void register_dps(Registry& registry) {
  registry.add<ComponentKind::method, DpsParams>(
      "dps",
      "diffusion posterior sampling (Chung et al. 2023): follow the gradient of r(x0_hat) "
      "(differentiable rewards only; cost: 2 denoiser rows and 1 reward gradient per sample and "
      "step on continuous models)",
      [](const DpsParams& p, const MethodDeps& deps) -> std::unique_ptr<Method> {
        std::unique_ptr<RewardOracle> surrogate;
        if (!p.surrogate.type.empty()) {
          if (!deps.make_reward) throw InputError("surrogate: only available inside an experiment");
          surrogate = deps.make_reward(p.surrogate);
        }
        RewardOracle& reward = surrogate ? *surrogate : deps.reward;
        if (!reward.differentiable()) {
          throw InputError(fmt::format(
              "dps needs a differentiable reward, and {} is not: name a differentiable "
              "surrogate with surrogate = {{ type = ... }}, or use a derivative-free method "
              "(svdd, smc, best_of_n)",
              surrogate ? "surrogate '" + p.surrogate.type + "'" : "the run's reward"));
        }
        return std::make_unique<Dps>(p.guidance_scale, reward, std::move(surrogate));
      });
}

}  // namespace svdd
