// Masked diffusion over SELFIES: the model `molecule.mdlm` (core's
// masked-diffusion family with the plugin's SelfiesTransformer) and its
// trainer `molecule.train_mdlm`, which fits the denoiser on a molecule table
// and writes, on the checkpoint's card, the validity, uniqueness and novelty
// of molecules sampled from it.
#pragma once

#include "svdd/registry.hpp"

namespace svdd::molecule {

void register_molecule_diffusion(Registry& registry);

}  // namespace svdd::molecule
