// Beam search over candidates, and its stochastic form, nested importance
// sampling: each step the G particles of a group draw M candidates each, and
// the group keeps G of all G*M candidates: the G with the highest value
// (alpha = 0), or G drawn without replacement with probability ~
// exp(v / alpha) (Gumbel top-k; Kool et al. 2019). Unlike SVDD, a good
// particle can fill several slots and a poor one can vanish.
#include <ATen/ATen.h>

#include "methods/valued_method.hpp"
#include "svdd/methods/particle_groups.hpp"
#include "svdd/registry.hpp"

namespace svdd {
namespace {

struct BeamParams {
  int64_t candidates = 10;
  double alpha = 0.0;
  int64_t group_size = 0;
  ComponentSpec value{"posterior_mean", nullptr};
  void visit(ParamVisitor& v) {
    v.field("candidates", candidates, "M: candidates drawn per particle and step");
    v.at_least("candidates", candidates, 1);
    v.at_most("candidates", candidates, kMostPerSample);
    v.field("alpha", alpha,
            "0 keeps the top values; > 0 draws by exp(v/alpha) without replacement");
    v.non_negative("alpha", alpha);
    v.field("group_size", group_size,
            "particles per group (the beam width); 0: the whole batch is one group");
    v.non_negative("group_size", group_size);
    v.field("value", value, "soft value estimator (see svdd)");
  }
};

class Beam final : public Method {
 public:
  Beam(const BeamParams& p, std::unique_ptr<ValueEstimator> value)
      : params_(p), value_(std::move(value)) {}

  int64_t candidates_per_particle() const override { return params_.candidates; }

  at::Tensor select(const StepCandidates& c, DecodeContext& context) override {
    at::Tensor values = context.value(*value_, c.children, c.step - 1);
    const int64_t m = c.per_parent;
    std::vector<at::Tensor> kept;
    for (auto [begin, width] : ParticleGroups(c.parents.size(0), params_.group_size)) {
      at::Tensor v = values.slice(0, begin * m, (begin + width) * m);
      at::Tensor keys = v;
      if (params_.alpha > 0) {
        at::Tensor u = at::rand(v.sizes(), context.generator(), v.options()).clamp_min(1e-300);
        keys = v / params_.alpha - (-u.log()).log();  // + Gumbel noise
      }
      kept.push_back(std::get<1>(keys.topk(width)) + begin * m);
    }
    return at::cat(kept);
  }

 private:
  BeamParams params_;
  std::unique_ptr<ValueEstimator> value_;
};

}  // namespace

void register_beam(Registry& registry) {
  add_valued_method<Beam, BeamParams>(
      registry, "beam",
      "beam search / nested importance sampling: keep the best (or exp(v/alpha)-drawn) G of a "
      "group's G*M candidates (cost as svdd)");
}

}  // namespace svdd
