// Feynman-Kac steering (Singhal et al. 2025, "A General Framework for
// Inference-time Scaling and Steering of Diffusion Models"): particles move
// by pretrained steps and, every `interval` steps from step `start` on and
// after the last step, are resampled by a potential G built from the
// intermediate rewards v (the value estimator, r(x0_hat) by default):
//   difference: G = exp((v_t - v_prev) / alpha), v_prev the value at the
//               previous resampling (0 at first): the product telescopes to
//               exp(r(x_0)/alpha), the tilted target;
//   max:        G = exp(max of v over resampling times so far / alpha);
//   sum:        G = exp(sum of v over resampling times so far / alpha).
// Groups of particles are resampled independently.
#include <ATen/ATen.h>

#include "svdd/methods/resampling.hpp"
#include "svdd/registry.hpp"
#include "svdd/util/choices.hpp"

namespace svdd {
namespace {

enum class Potential { difference, max, sum };

inline constexpr std::array<Choice<Potential>, 3> kPotentials{{
    {"difference", Potential::difference},
    {"max", Potential::max},
    {"sum", Potential::sum},
}};

struct FkParams {
  double alpha = 0.1;
  std::string potential = "difference";
  int64_t interval = 10;
  int64_t start = 0;
  std::string resampling = "multinomial";
  int64_t group_size = 0;
  ComponentSpec value{"posterior_mean", nullptr};
  void visit(ParamVisitor& v) {
    v.field("alpha", alpha, "temperature: potentials are exp(./alpha) (1/lambda in the paper)");
    v.positive("alpha", alpha);
    v.field("potential", potential,
            "the potential G from the values at resampling steps (see the file's header)");
    require_choice(v, "potential", potential, kPotentials);
    v.field("interval", interval, "resample every this many steps");
    v.at_least("interval", interval, 1);
    v.field("start", start, "steps taken before the first resampling");
    v.non_negative("start", start);
    v.field("resampling", resampling, "the resampling scheme (Douc et al. 2005)");
    require_choice(v, "resampling", resampling, kResamplingSchemes);
    v.field("group_size", group_size,
            "particles per group, resampled only among themselves; 0: the whole batch");
    v.non_negative("group_size", group_size);
    v.field("value", value, "intermediate reward estimator (see svdd)");
  }
};

class FkSteering final : public Method {
 public:
  FkSteering(const FkParams& p, std::unique_ptr<ValueEstimator> value, int steps)
      : params_(p),
        potential_(parse_choice(kPotentials, p.potential).value()),  // checked by visit
        scheme_(resampling_scheme(p.resampling)),
        value_(std::move(value)),
        steps_(steps) {}

  void begin_batch(int64_t particles) override {
    history_ = at::zeros({particles}, at::kDouble);
    if (potential_ == Potential::max) history_.fill_(-INFINITY);
  }

  at::Tensor select(const StepCandidates& c, DecodeContext& context) override {
    const int64_t p = c.parents.size(0);
    const int64_t taken = steps_ - c.step + 1;  // steps taken including this one
    const bool last = c.step == 1;
    if (!last && (taken <= params_.start || taken % params_.interval != 0)) {
      return Method::select(c, context);  // between resampling steps: keep every particle
    }
    at::Tensor v = context.value(*value_, c.children, c.step - 1);
    at::Tensor log_potential;
    switch (potential_) {
      case Potential::difference:
        log_potential = (v - history_) / params_.alpha;
        history_ = v;
        break;
      case Potential::max:
        history_ = at::maximum(history_, v);
        log_potential = history_ / params_.alpha;
        break;
      case Potential::sum:
        history_ = history_ + v;
        log_potential = history_ / params_.alpha;
        break;
    }
    const int64_t g = params_.group_size;  // groups resampled apart (ParticleGroups)
    context.report("ess_fraction", c.step,
                   effective_sample_size(log_potential, g).sum().item<double>() / double(p));
    at::Tensor ancestors = resample(log_potential, g, scheme_, context.generator());
    history_ = history_.index_select(0, ancestors);
    return ancestors;
  }

 private:
  FkParams params_;
  Potential potential_;
  ResamplingScheme scheme_;
  std::unique_ptr<ValueEstimator> value_;
  int steps_;
  at::Tensor history_;
};

}  // namespace

void register_fk_steering(Registry& registry) {
  registry.add<ComponentKind::method, FkParams>(
      "fk_steering",
      "Feynman-Kac steering (Singhal et al. 2025): resample particles every `interval` steps by "
      "difference, max or sum potentials (cost: 1 denoiser row per particle and step, plus value "
      "calls at resampling steps)",
      [](const FkParams& p, const MethodDeps& deps) {
        return std::make_unique<FkSteering>(p, deps.make_value(p.value, p.alpha),
                                            deps.model.num_steps());
      });
}

}  // namespace svdd
