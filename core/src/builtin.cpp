// Core's own components.
#include "svdd/registry.hpp"

namespace svdd {

void register_pretrained(Registry&);
void register_best_of_n(Registry&);
void register_svdd(Registry&);
void register_posterior_mean_value(Registry&);
void register_exact_value(Registry&);
void register_toy_categorical(Registry&);
void register_toy_gmm(Registry&);

void register_core_components(Registry& registry) {
  register_pretrained(registry);
  register_best_of_n(registry);
  register_svdd(registry);
  register_posterior_mean_value(registry);
  register_exact_value(registry);
  register_toy_categorical(registry);
  register_toy_gmm(registry);
}

}  // namespace svdd
