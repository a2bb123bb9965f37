// The molecule plugin's value-network architecture "molecule.transformer"
// (selfies_transformer_value.cpp): SVDD-MC's v(x_t, t) for SELFIES tokens.
#pragma once

#include "svdd/registry.hpp"

namespace svdd::molecule {

void register_selfies_transformer_value(Registry& registry);

}  // namespace svdd::molecule
