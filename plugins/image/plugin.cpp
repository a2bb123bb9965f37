// The image plugin: pixel-space Gaussian diffusion (DDPM trained here,
// sampled with DDIM) on handwritten digits, the JPEG compressibility reward
// of the SVDD paper, digit-classifier rewards (differentiable, for DPS and
// classifier guidance) with a held-out classifier for evaluation, and
// TorchScript noise-prediction networks exported from Python, and a value
// network for SVDD-MC.
#include "svdd/plugin.hpp"

#include "digit_classifier.hpp"
#include "image_diffusion.hpp"
#include "image_domain.hpp"
#include "jpeg_compressibility.hpp"
#include "time_cnn_value.hpp"
#include "torchscript_denoiser.hpp"

namespace {
void register_image(svdd::Registry& registry) {
  svdd::image::register_image_domain(registry);
  svdd::image::register_image_diffusion(registry);
  svdd::image::register_jpeg_compressibility(registry);
  svdd::image::register_digit_classifier(registry);
  svdd::image::register_torchscript_denoiser(registry);
  svdd::image::register_time_cnn_value(registry);
}
}  // namespace

SVDD_PLUGIN(register_image)
