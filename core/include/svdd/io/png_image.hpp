// PNG pictures of samples (libpng): encoding and decoding 8-bit images, and
// "data:image/png;base64,..." URIs, the decoded form of image samples in
// samples.csv (a browser shows them as they are). A domain whose samples
// decode to such URIs draws them with picture_of_png_data_uri.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "svdd/domain.hpp"
#include "svdd/export.hpp"

namespace svdd {

// An 8-bit image (see Picture in domain.hpp).
using PngImage = Picture;

// The PNG file bytes of `image`. Throws InputError for a shape that does not
// match its pixels or a channel count other than 1 or 3.
SVDD_API std::string encode_png(const PngImage& image);
// Decodes PNG bytes (grey, grey+alpha, RGB, RGBA, palette; 8 or 16 bit) to
// 8-bit grey or RGB (alpha dropped). Throws InputError naming `what` for
// bytes that are not a PNG.
SVDD_API PngImage decode_png(const std::string& bytes, const std::string& what = "PNG data");

SVDD_API void write_png(const std::filesystem::path& file, const PngImage& image);
SVDD_API PngImage read_png(const std::filesystem::path& file);

// Base64 of `bytes` (RFC 4648, standard alphabet, padded), as data URIs hold.
SVDD_API std::string base64_encode(const std::string& bytes);

// "data:image/png;base64,<base64 of encode_png(image)>".
SVDD_API std::string png_data_uri(const PngImage& image);
SVDD_API bool is_png_data_uri(const std::string& text);
// The image inside a PNG data URI; InputError when `text` is not one.
SVDD_API PngImage decode_png_data_uri(const std::string& text);
// A PictureFn for domains whose samples decode to PNG data URIs: the image,
// nullopt for text that is not a PNG data URI, InputError for one that does
// not decode.
SVDD_API std::optional<Picture> picture_of_png_data_uri(const std::string& decoded);

}  // namespace svdd
