// Private: registering a method that is built from its parameters and the
// value estimator its `value` names, at its `alpha` (svdd, svdd_r, smc,
// beam): M(const P&, std::unique_ptr<ValueEstimator>).
#pragma once

#include <memory>
#include <string>
#include <utility>

#include "svdd/registry.hpp"

namespace svdd {

template <class M, class P>
void add_valued_method(Registry& registry, std::string name, std::string summary) {
  registry.add<ComponentKind::method, P>(
      std::move(name), std::move(summary), [](const P& p, const MethodDeps& deps) {
        return std::make_unique<M>(p, deps.make_value(p.value, p.alpha));
      });
}

}  // namespace svdd
