// SVDD-R: SVDD with global resampling (Li et al. 2024, arXiv:2408.08252,
// Algorithm 2). Each step first selects one of M candidates per sample as
// SVDD does, then replaces the worst fraction of the batch (lowest value) by
// copies drawn from the whole batch with probability ~ exp(v / alpha)
// (the best sample when alpha = 0). The batch acts as one population.
#include <ATen/ATen.h>

#include <cmath>

#include "methods/selection.hpp"
#include "methods/valued_method.hpp"
#include "svdd/registry.hpp"

namespace svdd {
namespace {

struct SvddRParams {
  int64_t candidates = 10;
  double alpha = 0.0;
  double replace_fraction = 0.05;
  ComponentSpec value{"posterior_mean", nullptr};
  void visit(ParamVisitor& v) {
    v.field("candidates", candidates, "M: candidates drawn per sample and step");
    v.at_least("candidates", candidates, 1);
    v.at_most("candidates", candidates, kMostPerSample);
    v.field("alpha", alpha, "temperature of both selections; 0 takes the argmax");
    v.non_negative("alpha", alpha);
    v.field("replace_fraction", replace_fraction,
            "share of the batch (lowest values) replaced each step by value-weighted draws");
    v.in_half_open_range("replace_fraction", replace_fraction, 0.0, 1.0);
    v.field("value", value, "soft value estimator (see svdd)");
  }
};

class SvddR final : public Method {
 public:
  SvddR(const SvddRParams& p, std::unique_ptr<ValueEstimator> value)
      : params_(p), value_(std::move(value)) {}

  int64_t candidates_per_particle() const override { return params_.candidates; }

  at::Tensor select(const StepCandidates& c, DecodeContext& context) override {
    at::Tensor values = context.value(*value_, c.children, c.step - 1);
    at::Tensor chosen = choose_per_parent(values, c.per_parent, params_.alpha, context.generator());
    const int64_t p = chosen.size(0);
    const auto replaced = static_cast<int64_t>(std::floor(params_.replace_fraction * p));
    if (replaced == 0) return chosen;
    at::Tensor v = values.index_select(0, chosen);
    at::Tensor worst = v.argsort().slice(0, 0, replaced);
    at::Tensor donors =
        soft_select(v.unsqueeze(0).expand({replaced, p}), params_.alpha, context.generator());
    return chosen.index_put({worst}, chosen.index_select(0, donors));
  }

 private:
  SvddRParams params_;
  std::unique_ptr<ValueEstimator> value_;
};

}  // namespace

void register_svdd_r(Registry& registry) {
  add_valued_method<SvddR, SvddRParams>(
      registry, "svdd_r",
      "SVDD plus replacing the worst fraction of the batch by value-weighted draws (Li et al. "
      "2024, Algorithm 2; cost as svdd)");
}

}  // namespace svdd
