#include "image_domain.hpp"

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "svdd/error.hpp"

namespace svdd::image {

Domain image_domain(int64_t channels, int64_t height, int64_t width) {
  if (channels != 1 && channels != 3) {
    throw InputError(fmt::format("images have 1 (grey) or 3 (RGB) channels, not {}", channels));
  }
  if (height < 1 || width < 1) {
    throw InputError(fmt::format("image size {}x{} is empty", height, width));
  }
  Domain domain;
  domain.name = fmt::format("image.{}x{}x{}", channels, height, width);
  domain.kind = Domain::Kind::continuous;
  domain.shape = {channels, height, width};
  domain.decoder = [](const at::Tensor& x) {
    std::vector<std::string> out;
    for (const auto& image : to_png_images(x)) out.push_back(png_data_uri(image));
    return out;
  };
  domain.picture = picture_of_png_data_uri;  // the decoded form is the PNG
  // Designs made elsewhere: a PNG data URI (as samples.csv holds them) or
  // the path of a PNG file, of this domain's channels and size.
  domain.encoder = [channels, height, width](const std::string& text) -> Encoded {
    PngImage image;
    try {
      image = is_png_data_uri(text) ? decode_png_data_uri(text) : read_png(text);
    } catch (const InputError& e) {
      return {{}, e.what()};
    }
    if (image.channels != channels || image.height != height || image.width != width) {
      return {{},
              fmt::format("a {}x{}x{} image, the model makes {}x{}x{}", image.channels,
                          image.height, image.width, channels, height, width)};
    }
    return {from_png_images({image})[0], ""};
  };
  // Core's default continuous distance is the Euclidean one, which is what
  // "pairwise L2 diversity" means here; no custom distance.
  return domain;
}

std::vector<PngImage> to_png_images(const at::Tensor& x) {
  if (x.dim() != 4) {
    throw InputError(fmt::format("images must be [B, C, H, W], got {} dimensions", x.dim()));
  }
  // [B, C, H, W] -> [B, H, W, C] bytes.
  at::Tensor bytes = ((x.detach().to(at::kCPU, at::kFloat).clamp(-1, 1) + 1) * 127.5)
                         .round()
                         .to(at::kByte)
                         .permute({0, 2, 3, 1})
                         .contiguous();
  const int64_t b = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
  std::vector<PngImage> images(b);
  const uint8_t* data = bytes.data_ptr<uint8_t>();
  for (int64_t i = 0; i < b; ++i) {
    images[i].height = h;
    images[i].width = w;
    images[i].channels = c;
    images[i].pixels.assign(data + i * h * w * c, data + (i + 1) * h * w * c);
  }
  return images;
}

at::Tensor from_png_images(const std::vector<PngImage>& images) {
  if (images.empty()) return at::empty({0, 1, 0, 0}, at::kFloat);
  const auto& first = images.front();
  at::Tensor out =
      at::empty({int64_t(images.size()), first.height, first.width, first.channels}, at::kByte);
  uint8_t* data = out.data_ptr<uint8_t>();
  const size_t size = first.pixels.size();
  for (size_t i = 0; i < images.size(); ++i) {
    const auto& image = images[i];
    if (image.height != first.height || image.width != first.width ||
        image.channels != first.channels || image.pixels.size() != size) {
      throw InputError(fmt::format("image {} is {}x{}x{}, the first {}x{}x{}", i, image.height,
                                   image.width, image.channels, first.height, first.width,
                                   first.channels));
    }
    std::copy(image.pixels.begin(), image.pixels.end(), data + i * size);
  }
  return out.permute({0, 3, 1, 2}).to(at::kFloat).div(127.5).sub(1).contiguous();
}

namespace {

// The image domain for a user's own Gaussian model (torchscript_ddpm with
// domain = "image"): samples [C, H, W] in [-1, 1] decode to PNG, so the
// image rewards apply and runs draw their samples.
Domain named_image_domain(const DomainRequest& request) {
  if (request.shape.size() != 3) {
    throw InputError(
        fmt::format("images have the shape [C, H, W], not [{}]", fmt::join(request.shape, ", ")));
  }
  return image_domain(request.shape[0], request.shape[1], request.shape[2]);
}

}  // namespace

void register_image_domain(Registry& registry) {
  registry.add_domain("image", "images [C, H, W] in [-1, 1], C = 1 (grey) or 3 (RGB), as PNG",
                      named_image_domain);
}

}  // namespace svdd::image
