// Classifier guidance (Dhariwal & Nichol 2021, "Diffusion Models Beat GANs on
// Image Synthesis", Algorithm 1) with a learned value network in place of the
// classifier's log-probability, as the SVDD paper's baseline does: each
// pretrained step is moved along guidance_scale * d v_theta(x_t, t) / d x_t
// (continuous), or its revealed tokens are drawn from the denoiser's
// probabilities tilted by exp(guidance_scale * d v_theta / d onehot(x_t))
// (tokens). The network is one written by `svdd train` (SVDD-MC's value).
#include <ATen/ATen.h>
#include <fmt/format.h>

#include "methods/gradient_guided.hpp"
#include "svdd/error.hpp"
#include "svdd/registry.hpp"
#include "svdd/training/value_network.hpp"

namespace svdd {
namespace {

struct ClassifierGuidanceParams {
  double guidance_scale = 1.0;
  FilePath checkpoint;
  void visit(ParamVisitor& v) {
    v.field("guidance_scale", guidance_scale, "step size along the value network's gradient");
    v.non_negative("guidance_scale", guidance_scale);
    v.field("checkpoint", checkpoint, "the value network written by `svdd train`");
    v.require(!checkpoint.path.empty(), "checkpoint",
              "missing: name the value network written by `svdd train`");
  }
};

class ClassifierGuidance final : public GradientGuided {
 public:
  ClassifierGuidance(double scale, std::unique_ptr<ValueNetwork> network)
      : GradientGuided(scale), network_(std::move(network)) {}

 private:
  at::Tensor gradient(Transition&, const at::Tensor& x_t, int step, DecodeContext&) override {
    at::Tensor steps = at::full({x_t.size(0)}, static_cast<int64_t>(step), at::kLong);
    return network_->gradient(x_t, steps);
  }

  std::unique_ptr<ValueNetwork> network_;
};

}  // namespace

void register_classifier_guidance(Registry& registry) {
  registry.add<ComponentKind::method, ClassifierGuidanceParams>(
      "classifier_guidance",
      "classifier guidance with a learned value network (Dhariwal & Nichol 2021): follow "
      "d v_theta / d x_t (cost: T denoiser rows and T network gradients per sample)",
      [](const ClassifierGuidanceParams& p, const MethodDeps& deps) {
        const Domain& domain = deps.model.domain();
        auto network =
            load_value_network(p.checkpoint.path, domain, deps.model.num_steps(), deps.build);
        if (domain.discrete()) {
          // Refuses, before any run, an architecture with no gradient in tokens.
          std::vector<int64_t> shape{1};
          shape.insert(shape.end(), domain.shape.begin(), domain.shape.end());
          network->gradient(at::full(shape, domain.mask_id, at::kLong),
                            at::full({1}, int64_t{deps.model.num_steps()}, at::kLong));
        }
        return std::make_unique<ClassifierGuidance>(p.guidance_scale, std::move(network));
      });
}

}  // namespace svdd
