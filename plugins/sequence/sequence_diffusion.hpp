// Masked diffusion over DNA and RNA: the model `sequence.mdlm` (core's
// masked-diffusion family with the plugin's ConvDenoiser), its trainer
// `sequence.train_mdlm`, and the naturalness figures that judge its samples:
// the evaluation reward `sequence.log_likelihood` (the MDLM evidence lower
// bound of each sample) and the metric `sequence.kmer_correlation` (k-mer
// spectrum of a run's samples against held-out real sequences).
#pragma once

#include "svdd/registry.hpp"

namespace svdd::sequence {

// sequence.mdlm, sequence.log_likelihood, sequence.kmer_correlation.
void register_sequence_diffusion(Registry& registry);
// sequence.train_mdlm (mdlm_training.cpp).
void register_mdlm_training(Registry& registry);

}  // namespace svdd::sequence
