// The JPEG compressibility reward of the SVDD paper (Li et al. 2024, images
// experiment, after DDPO, Black et al. 2023): r(x) = -(size in bytes of x
// saved as a JPEG) / 1000, so smaller files score higher. DDPO and SVDD
// save with PIL at quality 95; we encode with libjpeg the 8-bit picture the
// user sees (image_domain.hpp's to_png_images), with the settings PIL uses.
#pragma once

#include <cstdint>
#include <vector>

#include "svdd/io/png_image.hpp"
#include "svdd/registry.hpp"

namespace svdd::image {

// Registers "image.jpeg_compressibility".
void register_jpeg_compressibility(Registry& registry);

// The size in bytes of `image` encoded as a baseline JPEG at `quality`
// (1..100): libjpeg's defaults (4:2:0 chroma subsampling for RGB, standard
// Huffman tables, JFIF header) with grey images stored as one grey
// component, the settings of PIL's Image.save(format="JPEG", quality=q) and
// of cjpeg -quality q -baseline. Throws InputError for a bad quality or a
// shape that does not match the pixels, and RuntimeFailure when libjpeg
// fails (a side above 65,500 pixels, say).
int64_t jpeg_size(const PngImage& image, int quality);

}  // namespace svdd::image
