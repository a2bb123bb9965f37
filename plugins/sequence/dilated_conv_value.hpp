// The sequence plugin's value-network architecture "sequence.dilated_conv"
// (dilated_conv_value.cpp): SVDD-MC's v(x_t, t) for token sequences.
#pragma once

#include "svdd/registry.hpp"

namespace svdd::sequence {

void register_dilated_conv_value(Registry& registry);

}  // namespace svdd::sequence
