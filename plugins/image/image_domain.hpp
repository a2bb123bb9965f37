// Images as diffusion samples: float32 tensors [B, C, H, W] with pixel values
// in [-1, 1] (-1 black, 1 white), C = 1 (grey) or 3 (RGB). A sample decodes
// to a PNG data URI (svdd/png_image.hpp), so samples.csv holds every picture
// and the run's grid is drawn from it.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

#include "svdd/domain.hpp"
#include "svdd/io/png_image.hpp"
#include "svdd/registry.hpp"

namespace svdd::image {

// The domain "image.<channels>x<height>x<width>" with shape {C, H, W}; its
// decoder writes PNG data URIs and its distance is the Euclidean (L2) one.
Domain image_domain(int64_t channels, int64_t height, int64_t width);

// [B, C, H, W] float in [-1, 1] (any device; values outside are clamped) ->
// B 8-bit images, pixel = round((x + 1) / 2 * 255).
std::vector<PngImage> to_png_images(const at::Tensor& x);
// The inverse: images of one shape -> [B, C, H, W] float32 CPU in [-1, 1].
at::Tensor from_png_images(const std::vector<PngImage>& images);

// The domain "image" for a user's Gaussian model (torchscript_ddpm with
// domain = "image" and shape = [C, H, W]).
void register_image_domain(Registry& registry);

}  // namespace svdd::image
