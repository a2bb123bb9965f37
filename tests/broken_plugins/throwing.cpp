// A plugin whose registration throws half-way: nothing of it may be registered.
#include <stdexcept>

#include "svdd/plugin.hpp"

namespace {
struct NoParams {
  void visit(svdd::ParamVisitor&) {}
};
void register_throwing(svdd::Registry& registry) {
  registry.add<svdd::ComponentKind::method, NoParams>(
      "broken.half_registered", "never visible",
      [](const NoParams&, const svdd::MethodDeps&) -> std::unique_ptr<svdd::Method> {
        return nullptr;
      });
  throw std::runtime_error("boom: missing checkpoint");
}
}  // namespace

SVDD_PLUGIN(register_throwing)
