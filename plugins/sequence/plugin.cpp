// The sequence plugin: DNA enhancer and RNA 5'UTR design. Masked diffusion
// models of sequences with their trainer and naturalness figures, trained
// activity oracles, nucleotide rewards that need no model, and a value
// network for SVDD-MC.
#include "svdd/plugin.hpp"

#include "activity_oracle.hpp"
#include "dilated_conv_value.hpp"
#include "sequence_diffusion.hpp"
#include "sequence_domain.hpp"
#include "sequence_rewards.hpp"

namespace {
void register_sequence(svdd::Registry& registry) {
  svdd::sequence::register_sequence_domains(registry);
  svdd::sequence::register_sequence_rewards(registry);
  svdd::sequence::register_sequence_diffusion(registry);
  svdd::sequence::register_mdlm_training(registry);
  svdd::sequence::register_sequence_oracle(registry);
  svdd::sequence::register_dilated_conv_value(registry);
}
}  // namespace

SVDD_PLUGIN(register_sequence)
