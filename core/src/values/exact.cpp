// The exact soft value of a toy domain, by enumeration over the model's exact
// distribution: v(x_s) = alpha log E[exp(r(x_0)/alpha) | x_s] (Li et al. 2024,
// eq. 3), and max{r(x_0) : p(x_0 | x_s) > 0} at alpha = 0. With it SVDD
// (alpha > 0, M -> infinity) samples exactly p_pre(x) exp(r(x)/alpha) / Z.
#include <ATen/ATen.h>
#include <fmt/format.h>

#include "svdd/error.hpp"
#include "svdd/registry.hpp"

namespace svdd {
namespace {

struct ExactValueParams {
  void visit(ParamVisitor&) {}
};

class ExactValue final : public ValueEstimator {
 public:
  ExactValue(const ExactDistribution& exact, RewardOracle& reward, const Domain& domain,
             double alpha)
      : exact_(exact), reward_(reward), domain_(domain), alpha_(alpha) {
    point_rewards_ = reward.score(Samples(exact.quadrature().points, domain)).to(at::kDouble);
  }

  at::Tensor value(const at::Tensor& x_s, int step, at::Generator&) override {
    if (step == 0) return reward_.score(Samples(x_s, domain_));
    at::Tensor posterior = exact_.posterior(x_s.to(at::kCPU), step);  // [B, K]
    if (alpha_ > 0) {
      return alpha_ * (posterior.log() + point_rewards_.unsqueeze(0) / alpha_).logsumexp(1);
    }
    at::Tensor reachable = posterior.gt(1e-12);
    at::Tensor r = point_rewards_.unsqueeze(0).expand_as(posterior);
    return at::where(reachable, r, at::full_like(r, -std::numeric_limits<double>::infinity()))
        .amax(1);
  }

 private:
  const ExactDistribution& exact_;
  RewardOracle& reward_;
  const Domain& domain_;
  double alpha_;
  at::Tensor point_rewards_;
};

}  // namespace

void register_exact_value(Registry& registry) {
  registry.add<ComponentKind::value, ExactValueParams>(
      "exact",
      "alpha log E[exp(r(x0)/alpha) | x_t] by enumeration (toy domains with an exact "
      "distribution only)",
      [](const ExactValueParams&, const ValueDeps& deps) -> std::unique_ptr<ValueEstimator> {
        const ExactDistribution* exact = deps.model.exact();
        if (!exact) {
          throw InputError(fmt::format(
              "value 'exact' needs a model whose distribution is known exactly (toy.categorical, "
              "toy.gmm); model '{}' has none: use \"posterior_mean\"",
              deps.model.domain().name));
        }
        return std::make_unique<ExactValue>(*exact, deps.reward, deps.model.domain(), deps.alpha);
      });
}

}  // namespace svdd
