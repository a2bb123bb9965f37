// Pretrained sampling: the unguided reverse chain, the baseline every method
// is compared with.
#include "svdd/registry.hpp"

namespace svdd {
namespace {

struct PretrainedParams {
  void visit(ParamVisitor&) {}
};

// Every default of Method: the pretrained step, every particle kept.
class Pretrained final : public Method {};

}  // namespace

void register_pretrained(Registry& registry) {
  registry.add<ComponentKind::method, PretrainedParams>(
      "pretrained",
      "unguided samples from the pretrained model (cost: 1 denoiser row per sample and step)",
      [](const PretrainedParams&, const MethodDeps&) { return std::make_unique<Pretrained>(); });
}

}  // namespace svdd
