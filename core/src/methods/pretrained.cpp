// Pretrained sampling: the unguided reverse chain, the baseline every method
// is compared with.
#include <ATen/ATen.h>

#include "svdd/registry.hpp"

namespace svdd {
namespace {

struct PretrainedParams {
  void visit(ParamVisitor&) {}
};

class Pretrained final : public Method {
 public:
  at::Tensor select(const StepCandidates& c, DecodeContext&) override {
    return at::arange(c.parents.size(0), at::kLong);
  }
};

}  // namespace

void register_pretrained(Registry& registry) {
  registry.add<ComponentKind::method, PretrainedParams>(
      "pretrained",
      "unguided samples from the pretrained model (cost: 1 denoiser row per sample and step)",
      [](const PretrainedParams&, const MethodDeps&) { return std::make_unique<Pretrained>(); });
}

}  // namespace svdd
