// Simple, non-differentiable-in-general sequence rewards that need no
// trained model: GC content near a target, occurrences of a motif, and a
// penalty on long homopolymer runs. They score any domain whose tokens 0-3
// are A, C, G, T (or U).
#pragma once

#include "svdd/registry.hpp"

namespace svdd::sequence {

void register_sequence_rewards(Registry& registry);

}  // namespace svdd::sequence
