// Sequential Monte Carlo with twisted-target weights, in the style of TDS
// (Wu et al. 2023, "Practical and Asymptotically Exact Conditional Sampling
// in Diffusion Models") with the pretrained step as proposal. Each particle
// moves by one pretrained step and multiplies its weight by the incremental
// importance weight exp((v_{t-1}(x_{t-1}) - v_t(x_t)) / alpha); the product
// telescopes to exp(r(x_0)/alpha), so the particles target
// p_pre(x) exp(r(x)/alpha) / Z. A group is resampled when its effective
// sample size falls below ess_threshold * group size, and always after the
// last step, so the returned samples are equally weighted. Groups never mix.
#include <ATen/ATen.h>
#include <fmt/format.h>

#include "methods/valued_method.hpp"
#include "svdd/methods/particle_groups.hpp"
#include "svdd/methods/resampling.hpp"
#include "svdd/registry.hpp"

namespace svdd {
namespace {

struct SmcParams {
  double alpha = 0.1;
  std::string resampling = "systematic";
  double ess_threshold = 0.5;
  int64_t group_size = 0;
  ComponentSpec value{"posterior_mean", nullptr};
  void visit(ParamVisitor& v) {
    v.field("alpha", alpha, "temperature of the target p_pre exp(r/alpha)");
    v.positive("alpha", alpha);
    v.field("resampling", resampling, "the resampling scheme (Douc et al. 2005)");
    require_choice(v, "resampling", resampling, kResamplingSchemes);
    v.field("ess_threshold", ess_threshold,
            "resample a group when its ESS / group size falls below this (1: every step)");
    v.in_range("ess_threshold", ess_threshold, 0.0, 1.0);
    v.field("group_size", group_size,
            "particles per group, resampled only among themselves; 0: the whole batch");
    v.non_negative("group_size", group_size);
    v.field("value", value, "soft value estimator v_t (see svdd)");
  }
};

class Smc final : public Method {
 public:
  Smc(const SmcParams& p, std::unique_ptr<ValueEstimator> value)
      : params_(p), scheme_(resampling_scheme(p.resampling)), value_(std::move(value)) {}

  void begin_batch(int64_t particles) override {
    log_weights_ = at::zeros({particles}, at::kDouble);
    values_ = at::Tensor();
  }

  at::Tensor select(const StepCandidates& c, DecodeContext& context) override {
    const int64_t p = c.parents.size(0);
    if (!values_.defined()) values_ = context.value(*value_, c.parents, c.step);
    at::Tensor next = context.value(*value_, c.children, c.step - 1);
    log_weights_ = log_weights_ + (next - values_) / params_.alpha;
    values_ = next;

    at::Tensor ess = effective_sample_size(log_weights_, params_.group_size);
    context.report("ess_fraction", c.step, ess.sum().item<double>() / double(p));
    at::Tensor sizes = ParticleGroups(p, params_.group_size).sizes();
    at::Tensor low = ess < sizes.to(at::kDouble) * params_.ess_threshold;
    at::Tensor keep = Method::select(c, context);
    if (c.step > 1 && !low.any().item<bool>()) return keep;

    // Resample the groups that need it (all of them after the last step).
    at::Tensor ancestors = resample(log_weights_, params_.group_size, scheme_, context.generator());
    at::Tensor redo = c.step == 1 ? at::ones_like(low) : low;
    at::Tensor redo_rows = at::repeat_interleave(redo, sizes);
    ancestors = at::where(redo_rows, ancestors, keep);
    log_weights_ = at::where(redo_rows, at::zeros_like(log_weights_), log_weights_);
    values_ = values_.index_select(0, ancestors);
    context.report("resampled_groups", c.step, redo.sum().item<double>());
    return ancestors;
  }

 private:
  SmcParams params_;
  ResamplingScheme scheme_;
  std::unique_ptr<ValueEstimator> value_;
  at::Tensor log_weights_, values_;
};

}  // namespace

void register_smc(Registry& registry) {
  add_valued_method<Smc, SmcParams>(
      registry, "smc",
      "sequential Monte Carlo (TDS-style weights exp((v_{t-1} - v_t)/alpha), ESS-triggered "
      "resampling within groups; cost: 2 denoiser rows and 1 reward call per particle and step "
      "with posterior_mean)");
}

}  // namespace svdd
