// Core's own components.
#include "svdd/registry.hpp"

namespace svdd {

void register_pretrained(Registry&);
void register_best_of_n(Registry&);
void register_svdd(Registry&);
void register_svdd_r(Registry&);
void register_smc(Registry&);
void register_fk_steering(Registry&);
void register_beam(Registry&);
void register_dps(Registry&);
void register_classifier_guidance(Registry&);
void register_rollout_value(Registry&);
void register_posterior_mean_value(Registry&);
void register_sampled_x0_value(Registry&);
void register_exact_value(Registry&);
void register_learned_value(Registry&);
void register_value_training(Registry&);
void register_value_mlp(Registry&);
void register_toy_categorical(Registry&);
void register_toy_gmm(Registry&);
void register_composite_reward(Registry&);
void register_torchscript_reward(Registry&);
void register_program_reward(Registry&);
void register_torchscript_mdlm(Registry&);
void register_torchscript_ddpm(Registry&);

void register_core_components(Registry& registry) {
  register_pretrained(registry);
  register_best_of_n(registry);
  register_svdd(registry);
  register_svdd_r(registry);
  register_smc(registry);
  register_fk_steering(registry);
  register_beam(registry);
  register_dps(registry);
  register_classifier_guidance(registry);
  register_rollout_value(registry);
  register_posterior_mean_value(registry);
  register_sampled_x0_value(registry);
  register_exact_value(registry);
  register_learned_value(registry);
  register_value_training(registry);
  register_value_mlp(registry);
  register_toy_categorical(registry);
  register_toy_gmm(registry);
  register_torchscript_mdlm(registry);
  register_torchscript_ddpm(registry);
  register_composite_reward(registry);
  register_torchscript_reward(registry);
  register_program_reward(registry);
}

}  // namespace svdd
