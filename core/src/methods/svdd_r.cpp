// SVDD-R: SVDD with resampling across the batch (Li et al. 2024,
// arXiv:2408.08252, Algorithm 2, "replacement of non-promising samples").
// Each step first selects one of M candidates per sample as SVDD does; then
//   mode = "global": the batch (or each group of `group_size` samples) is
//     resampled with probability ~ exp(v / alpha) of the selected samples'
//     values, as Algorithm 2 does, at every `interval`-th step from the
//     `start`-th reverse step on (multinomial or a lower-variance scheme;
//     `resample_alpha` may give the resampling its own temperature);
//   mode = "replace_worst": the lowest-valued `replace_fraction` of the
//     batch is replaced by copies drawn with probability ~ exp(v / alpha)
//     (the best sample when alpha = 0), a gentler variant that keeps most
//     samples' own lineage.
// What global resampling converges to: selection then resampling tilts by
// exp(v / alpha) twice per step. With one candidate (M = 1) and resampling
// only at the last step it is sampling-importance-resampling of pretrained
// samples, the tilted target p_pre exp(r / alpha) / Z; as M grows, the local
// selection alone reaches that target and the final resampling tilts it once
// more, to exp(2 r / alpha) (tests: svdd_r global mode).
#include <ATen/ATen.h>

#include <cmath>

#include "methods/selection.hpp"
#include "methods/valued_method.hpp"
#include "svdd/methods/particle_groups.hpp"
#include "svdd/methods/resampling.hpp"
#include "svdd/registry.hpp"
#include "svdd/util/choices.hpp"

namespace svdd {
namespace {

struct SvddRParams {
  int64_t candidates = 10;
  double alpha = 0.0;
  std::string mode = "replace_worst";
  double resample_alpha = -1.0;  // < 0: alpha
  double replace_fraction = 0.05;
  std::string resampling = "multinomial";
  int64_t group_size = 0;
  int64_t interval = 1;
  int64_t start = 1;
  ComponentSpec value{"posterior_mean", nullptr};
  void visit(ParamVisitor& v) {
    v.field("candidates", candidates, "M: candidates drawn per sample and step");
    v.at_least("candidates", candidates, 1);
    v.at_most("candidates", candidates, kMostPerSample);
    v.field("alpha", alpha, "temperature of both selections; 0 takes the argmax");
    v.non_negative("alpha", alpha);
    v.field("mode", mode,
            "\"global\": resample the batch (or each group) by exp(v / alpha) after the local "
            "selection (Algorithm 2); \"replace_worst\": replace only the lowest-valued "
            "replace_fraction of the batch");
    v.one_of("mode", mode, {"global", "replace_worst"});
    v.field("resample_alpha", resample_alpha,
            "global: the temperature of the resampling, exp(v / resample_alpha); -1: alpha (as "
            "Algorithm 2), so that alpha = 0 keeps SVDD's argmax locally with a soft resampling");
    v.require(mode != "global" || resampling_temperature() > 0, "resample_alpha",
              "must be > 0 with mode = \"global\" (give resample_alpha, or alpha > 0): at 0 every "
              "sample would be resampled into the best one");
    v.field("replace_fraction", replace_fraction,
            "replace_worst: share of the batch (lowest values) replaced each step by "
            "value-weighted draws");
    v.in_half_open_range("replace_fraction", replace_fraction, 0.0, 1.0);
    v.field("resampling", resampling,
            "global: multinomial, systematic, stratified or residual (resampling.hpp)");
    require_choice(v, "resampling", resampling, kResamplingSchemes);
    v.field("group_size", group_size,
            "global: samples resampled together (consecutive rows); 0: the whole batch");
    v.non_negative("group_size", group_size);
    v.field("interval", interval, "global: resample every interval-th step");
    v.at_least("interval", interval, 1);
    v.field("start", start,
            "global: the first reverse step that resamples, counted from 1 (the first step); "
            "start = T resamples only at the last step");
    v.at_least("start", start, 1);
    v.field("value", value, "soft value estimator (see svdd)");
  }
  double resampling_temperature() const { return resample_alpha < 0 ? alpha : resample_alpha; }
};

class SvddR final : public Method {
 public:
  SvddR(const SvddRParams& p, std::unique_ptr<ValueEstimator> value)
      : params_(p), scheme_(resampling_scheme(p.resampling)), value_(std::move(value)) {}

  int64_t candidates_per_particle() const override { return params_.candidates; }

  at::Tensor select(const StepCandidates& c, DecodeContext& context) override {
    at::Tensor values = context.value(*value_, c.children, c.step - 1);
    at::Tensor chosen = choose_per_parent(values, c.per_parent, params_.alpha, context.generator());
    if (params_.mode == "global") {
      // Reverse step c.step of T is the (T - c.step + 1)-th step taken.
      const int64_t taken = context.model().num_steps() - c.step + 1;
      if (taken < params_.start || (taken - params_.start) % params_.interval != 0) return chosen;
      at::Tensor ancestors = resample(log_weights(values.index_select(0, chosen)),
                                      params_.group_size, scheme_, context.generator());
      return chosen.index_select(0, ancestors);
    }
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
  // v / resample_alpha as float64 on the CPU; a group whose samples are all invalid
  // (value -inf or NaN) keeps them with equal weights rather than failing.
  at::Tensor log_weights(const at::Tensor& v) const {
    at::Tensor lw = v.to(at::kCPU, at::kDouble) / params_.resampling_temperature();
    lw = at::where(lw.isnan(), at::full_like(lw, -INFINITY), lw);
    for (const auto& group : ParticleGroups(lw.size(0), params_.group_size)) {
      at::Tensor part = lw.slice(0, group.begin, group.end());
      if (!part.isfinite().any().item<bool>()) part.zero_();
    }
    return lw;
  }

  SvddRParams params_;
  ResamplingScheme scheme_;
  std::unique_ptr<ValueEstimator> value_;
};

}  // namespace

void register_svdd_r(Registry& registry) {
  add_valued_method<SvddR, SvddRParams>(
      registry, "svdd_r",
      "SVDD plus resampling across the batch by exp(v/alpha): the whole batch (mode = \"global\", "
      "Li et al. 2024, Algorithm 2) or its worst fraction (\"replace_worst\"); cost as svdd");
}

}  // namespace svdd
