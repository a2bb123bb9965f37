// The [model] keys of a Gaussian (DDPM/DDIM) image model that say how its
// network was trained (noise schedule, prediction) and how to sample it
// (steps, eta, clipping): shared by image.ddpm, whose schedule is read from
// its checkpoint's card, and image.torchscript_denoiser, whose schedule the
// user writes in TOML.
#pragma once

#include "svdd/families/gaussian_diffusion.hpp"
#include "svdd/params.hpp"

namespace svdd::image {

// train_steps, schedule, beta_start, beta_end, prediction.
void visit_training_schedule(ParamVisitor& v, GaussianDiffusionOptions& o);
// steps, eta, clip_x0.
void visit_sampling(ParamVisitor& v, GaussianDiffusionOptions& o);

}  // namespace svdd::image
