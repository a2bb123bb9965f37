// The sequence plugin: DNA enhancer and RNA 5'UTR design. So far it
// registers the nucleotide rewards that need no trained model; the masked
// diffusion denoiser and the activity oracles come next (issue 4).
#include "svdd/plugin.hpp"

#include "sequence_rewards.hpp"

namespace {
void register_sequence(svdd::Registry& registry) {
  svdd::sequence::register_sequence_rewards(registry);
}
}  // namespace

SVDD_PLUGIN(register_sequence)
