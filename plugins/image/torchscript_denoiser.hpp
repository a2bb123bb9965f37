// The image plugin's model "image.torchscript_denoiser": Gaussian pixel
// diffusion (DDPM schedule, sampled with DDIM; svdd/gaussian_diffusion.hpp)
// whose network is a TorchScript module exported from Python with
// torch.jit.script or torch.jit.trace and written by torch.jit.save. Its
// forward(x_t: Tensor[B, C, H, W] float32, t: Tensor[B] float32) gives the
// predicted noise (or x_0 when prediction = "x0") [B, C, H, W] at the
// training timestep t in [1, N]. The noise schedule it was trained with is
// written in the [model] table, with the keys of gaussian_schedule.hpp.
#pragma once

#include "svdd/registry.hpp"

namespace svdd::image {

void register_torchscript_denoiser(Registry& registry);

}  // namespace svdd::image
