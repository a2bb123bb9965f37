// The learned soft value of SVDD-MC (Li et al. 2024, arXiv:2408.08252,
// section 4.2): v(x_s) = v_theta(x_s, s), a network regressed on
// (x_t, t) -> r(x_0) over rollouts of the pretrained model by `svdd train`
// (value_training.hpp). At step 0 the value is the reward itself. Costs one
// network row per candidate and no reward call before step 0.
#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>
#include <fmt/format.h>

#include "svdd/error.hpp"
#include "svdd/registry.hpp"
#include "svdd/training/value_network.hpp"

namespace svdd {
namespace {

struct LearnedValueParams {
  FilePath checkpoint;
  void visit(ParamVisitor& v) {
    v.field("checkpoint", checkpoint,
            "the network written by `svdd train` (its card NAME.card.toml must lie beside it)");
    v.require(!checkpoint.path.empty(), "checkpoint",
              "missing: name the value network written by `svdd train`, e.g. checkpoint = "
              "\"value.pt\"");
  }
};

class LearnedValue final : public ValueEstimator {
 public:
  LearnedValue(std::unique_ptr<ValueNetwork> network, RewardOracle& reward, const Domain& domain)
      : network_(std::move(network)), reward_(reward), domain_(domain) {}

  at::Tensor value(const at::Tensor& x_s, int step, at::Generator&) override {
    if (step == 0) return reward_.score(Samples(x_s, domain_));
    c10::InferenceMode guard;
    at::Tensor steps = at::full({x_s.size(0)}, static_cast<int64_t>(step),
                                at::TensorOptions().dtype(at::kLong).device(x_s.device()));
    return network_->predict(x_s, steps).to(at::kCPU, at::kDouble);
  }

 private:
  std::unique_ptr<ValueNetwork> network_;
  RewardOracle& reward_;
  const Domain& domain_;
};

}  // namespace

void register_learned_value(Registry& registry) {
  registry.add<ComponentKind::value, LearnedValueParams>(
      "learned",
      "v_theta(x_t, t): a value network trained on pretrained rollouts by `svdd train` (SVDD-MC)",
      [](const LearnedValueParams& p, const ValueDeps& deps) -> std::unique_ptr<ValueEstimator> {
        const Domain& domain = deps.model.domain();
        std::unique_ptr<ValueNetwork> network;
        try {
          network =
              load_value_network(p.checkpoint.path, domain, deps.model.num_steps(), deps.build);
        } catch (const InputError& e) {
          throw InputError(fmt::format("value 'learned': {}", e.what()));
        }
        return std::make_unique<LearnedValue>(std::move(network), deps.reward, domain);
      });
}

}  // namespace svdd
