// Fuzzes svdd::decode_png (libpng behind it) and decode_png_data_uri, the
// readers of PNG images and of the "data:image/png;base64,..." samples
// image domains write to samples.csv.
//
// Input: PNG bytes; input that starts with "data:" is also read as a data
// URI.
//
// A finding: a crash, sanitizer report, hang, memory blow-up, an exception
// other than svdd::Error, a decoded image whose pixel count does not match
// its shape, or one that does not survive encode_png and decode_png
// unchanged.
#include <string>

#include "fuzz_input.hpp"
#include "svdd/io/png_image.hpp"

namespace {

void check_round_trip(const svdd::PngImage& image) {
  using svdd::fuzz::check_that;
  check_that(image.channels == 1 || image.channels == 3, "a decoded image is grey or RGB");
  check_that(
      image.pixels.size() == static_cast<size_t>(image.height * image.width * image.channels),
      "a decoded image has height*width*channels pixel values");
  const svdd::PngImage again = svdd::decode_png(svdd::encode_png(image), "re-encoded image");
  check_that(again.height == image.height && again.width == image.width &&
                 again.channels == image.channels && again.pixels == image.pixels,
             "encode_png then decode_png gives the decoded image back");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string bytes(svdd::fuzz::bytes_of(data, size));
  svdd::fuzz::accepted([&] { check_round_trip(svdd::decode_png(bytes, "fuzz input")); });
  if (bytes.starts_with("data:")) {
    svdd::fuzz::accepted([&] {
      if (auto picture = svdd::picture_of_png_data_uri(bytes)) check_round_trip(*picture);
    });
  }
  return 0;
}
