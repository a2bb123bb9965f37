// PNG pictures of samples (libpng): encoding and decoding 8-bit images, and
// "data:image/png;base64,..." URIs, the decoded form of image samples in
// samples.csv (a browser shows them as they are). Core reads such URIs back
// to draw each run's grid of samples (runner.hpp).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "svdd/export.hpp"

namespace svdd {

// An 8-bit image, rows top to bottom, pixels interleaved:
// pixels.size() == height * width * channels; channels 1 (grey) or 3 (RGB).
struct PngImage {
  int64_t height = 0, width = 0, channels = 1;
  std::vector<uint8_t> pixels;
};

// The PNG file bytes of `image`. Throws InputError for a shape that does not
// match its pixels or a channel count other than 1 or 3.
SVDD_API std::string encode_png(const PngImage& image);
// Decodes PNG bytes (grey, grey+alpha, RGB, RGBA, palette; 8 or 16 bit) to
// 8-bit grey or RGB (alpha dropped). Throws InputError naming `what` for
// bytes that are not a PNG.
SVDD_API PngImage decode_png(const std::string& bytes, const std::string& what = "PNG data");

SVDD_API void write_png(const std::filesystem::path& file, const PngImage& image);
SVDD_API PngImage read_png(const std::filesystem::path& file);

// "data:image/png;base64,<base64 of encode_png(image)>".
SVDD_API std::string png_data_uri(const PngImage& image);
SVDD_API bool is_png_data_uri(const std::string& text);
// The image inside a PNG data URI; InputError when `text` is not one.
SVDD_API PngImage decode_png_data_uri(const std::string& text);

}  // namespace svdd
