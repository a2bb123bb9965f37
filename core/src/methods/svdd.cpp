// SVDD: soft value-based decoding (Li et al. 2024, "Derivative-Free Guidance
// in Continuous and Discrete Diffusion Models with Soft Value-Based Decoding",
// arXiv:2408.08252, Algorithm 1). At every step each sample draws M
// candidates from the pretrained transition, scores them with a soft value
// v(x_{t-1}) and keeps one with probability proportional to exp(v / alpha)
// (argmax at alpha = 0). With value = "posterior_mean" this is SVDD-PM
// (v = r(x0_hat(x_{t-1}))); with an exact soft value and alpha > 0 it samples
// the tilted target p_pre(x) exp(r(x)/alpha) / Z as M grows.
#include <ATen/ATen.h>

#include "methods/selection.hpp"
#include "methods/valued_method.hpp"
#include "svdd/error.hpp"
#include "svdd/registry.hpp"

namespace svdd {
namespace {

struct SvddParams {
  int64_t candidates = 10;
  double alpha = 0.0;
  ComponentSpec value{"posterior_mean", nullptr};
  void visit(ParamVisitor& v) {
    v.field("candidates", candidates, "M: candidates drawn per sample and step");
    v.at_least("candidates", candidates, 1);
    v.at_most("candidates", candidates, kMostPerSample);
    v.field("alpha", alpha, "temperature of the selection softmax; 0 takes the argmax");
    v.non_negative("alpha", alpha);
    v.field("value", value,
            "soft value estimator: \"posterior_mean\" (SVDD-PM), \"exact\" (toys) or a table "
            "{ type = ..., ... }");
  }
};

class Svdd final : public Method {
 public:
  Svdd(const SvddParams& p, std::unique_ptr<ValueEstimator> value)
      : candidates_(p.candidates), alpha_(p.alpha), value_(std::move(value)) {}

  int64_t candidates_per_particle() const override { return candidates_; }

  at::Tensor select(const StepCandidates& c, DecodeContext& context) override {
    at::Tensor values = context.value(*value_, c.children, c.step - 1);
    return choose_per_parent(values, c.per_parent, alpha_, context.generator());
  }

 private:
  int64_t candidates_;
  double alpha_;
  std::unique_ptr<ValueEstimator> value_;
};

}  // namespace

void register_svdd(Registry& registry) {
  add_valued_method<Svdd, SvddParams>(
      registry, "svdd",
      "soft value-based decoding (Li et al. 2024): M candidates per step, keep one by "
      "softmax(v/alpha) (cost: M+1 denoiser rows per sample and step with posterior_mean, M "
      "reward calls)");
}

}  // namespace svdd
