// The image plugin's value-network architecture "image.time_cnn"
// (time_cnn_value.cpp): SVDD-MC's v(x_t, t) for images.
#pragma once

#include "svdd/registry.hpp"

namespace svdd::image {

void register_time_cnn_value(Registry& registry);

}  // namespace svdd::image
