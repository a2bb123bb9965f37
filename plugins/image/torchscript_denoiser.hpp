// The image plugin's model "image.torchscript_denoiser": core's
// torchscript_ddpm (svdd/families/torchscript_ddpm.hpp) over the image
// domain, kept under its first name and keys: the image's `channels`,
// `height` and `width` in place of `shape`, and t given as the training step
// in [1, N]. It is the same model as
//   type = "torchscript_ddpm", domain = "image", shape = [C, H, W], clip_x0 = 1
#pragma once

#include "svdd/registry.hpp"

namespace svdd::image {

void register_torchscript_denoiser(Registry& registry);

}  // namespace svdd::image
