#include "time_unet.hpp"

#include <fmt/format.h>
#include <torch/torch.h>

#include <cmath>

#include "svdd/error.hpp"
#include "svdd/training/finite_weights.hpp"
#include "time_conv_blocks.hpp"

namespace svdd::image {

void UNetParams::visit(ParamVisitor& v) {
  v.field("base_channels", base_channels, "channels at full resolution (times the multiplier)");
  v.at_least("base_channels", base_channels, 1);
  v.field("channel_multipliers", channel_multipliers,
          "channels of each resolution as multiples of base_channels (one entry per level; "
          "every level but the last halves the image)");
  v.require(!channel_multipliers.empty(), "channel_multipliers", "needs at least one level");
  bool widths_ok = true;
  for (int64_t m : channel_multipliers) widths_ok &= m >= 1 && (m * base_channels) % groups == 0;
  v.field("groups", groups, "group normalisation groups");
  v.at_least("groups", groups, 1);
  v.require(widths_ok, "channel_multipliers",
            "every multiplier must be >= 1 and give a width divisible by groups");
  v.field("dropout", dropout, "dropout inside residual blocks while training");
  v.in_half_open_range("dropout", dropout, 0, 1);
}

void ImageShape::visit(ParamVisitor& v) {
  v.field("channels", channels, "1 (grey) or 3 (RGB)");
  v.require(channels == 1 || channels == 3, "channels", "must be 1 or 3");
  v.field("height", height, "pixels");
  v.at_least("height", height, 1);
  v.field("width", width, "pixels");
  v.at_least("width", width, 1);
}

namespace {

struct UNetNetImpl : torch::nn::Module {
  UNetNetImpl(const UNetParams& p, const ImageShape& shape) : time_dim(4 * p.base_channels) {
    const int64_t levels = static_cast<int64_t>(p.channel_multipliers.size());
    time_in = register_module("time_in", torch::nn::Linear(p.base_channels, time_dim));
    time_out = register_module("time_out", torch::nn::Linear(time_dim, time_dim));
    input = register_module(
        "input",
        torch::nn::Conv2d(torch::nn::Conv2dOptions(shape.channels, p.base_channels, 3).padding(1)));
    int64_t width = p.base_channels;
    std::vector<int64_t> skip_widths;
    for (int64_t l = 0; l < levels; ++l) {
      const int64_t out = p.base_channels * p.channel_multipliers[l];
      down_blocks->push_back(ResidualBlock(width, out, time_dim, p.groups, p.dropout));
      skip_widths.push_back(out);
      width = out;
      if (l + 1 < levels) {
        downsample->push_back(
            torch::nn::Conv2d(torch::nn::Conv2dOptions(width, width, 3).stride(2).padding(1)));
      }
    }
    register_module("down_blocks", down_blocks);
    register_module("downsample", downsample);
    middle1 =
        register_module("middle1", ResidualBlock(width, width, time_dim, p.groups, p.dropout));
    middle2 =
        register_module("middle2", ResidualBlock(width, width, time_dim, p.groups, p.dropout));
    for (int64_t l = levels - 1; l >= 0; --l) {
      const int64_t out = p.base_channels * p.channel_multipliers[l];
      up_blocks->push_back(
          ResidualBlock(width + skip_widths[l], out, time_dim, p.groups, p.dropout));
      width = out;
      if (l > 0) {
        upsample->push_back(
            torch::nn::Conv2d(torch::nn::Conv2dOptions(width, width, 3).padding(1)));
      }
    }
    register_module("up_blocks", up_blocks);
    register_module("upsample", upsample);
    out_norm = register_module("out_norm", torch::nn::GroupNorm(p.groups, width));
    output = register_module(
        "output", torch::nn::Conv2d(torch::nn::Conv2dOptions(width, shape.channels, 3).padding(1)));
    base = p.base_channels;
  }

  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& t) {
    torch::Tensor temb = time_out(torch::silu(time_in(timestep_features(t, base))));
    torch::Tensor h = input(x);
    std::vector<torch::Tensor> skips;
    const size_t levels = down_blocks->size();
    for (size_t l = 0; l < levels; ++l) {
      h = down_blocks[l]->as<ResidualBlock>()->forward(h, temb);
      skips.push_back(h);
      if (l + 1 < levels) h = downsample[l]->as<torch::nn::Conv2d>()->forward(h);
    }
    h = middle2(middle1(h, temb), temb);
    for (size_t k = 0; k < levels; ++k) {
      const size_t l = levels - 1 - k;
      h = up_blocks[k]->as<ResidualBlock>()->forward(torch::cat({h, skips[l]}, 1), temb);
      if (l > 0) {
        h = torch::nn::functional::interpolate(
            h, torch::nn::functional::InterpolateFuncOptions()
                   .size(std::vector<int64_t>{skips[l - 1].size(2), skips[l - 1].size(3)})
                   .mode(torch::kNearest));
        h = upsample[k]->as<torch::nn::Conv2d>()->forward(h);
      }
    }
    return output(torch::silu(out_norm(h)));
  }

  int64_t time_dim, base = 0;
  torch::nn::Linear time_in{nullptr}, time_out{nullptr};
  torch::nn::Conv2d input{nullptr}, output{nullptr};
  torch::nn::ModuleList down_blocks, downsample, up_blocks, upsample;
  ResidualBlock middle1{nullptr}, middle2{nullptr};
  torch::nn::GroupNorm out_norm{nullptr};
};
TORCH_MODULE(UNetNet);

}  // namespace

struct TimeUNet::Impl {
  UNetNet net{nullptr};
  ImageShape shape;
  torch::Device device{torch::kCPU};
};

TimeUNet::TimeUNet(const UNetParams& params, const ImageShape& shape) : impl_(new Impl) {
  // Stride-2 convolutions round odd sides up; the upsampling path follows the
  // recorded sizes, so any side works, but say what happens to tiny images.
  if (params.base_channels % 2 != 0) {
    throw InputError("base_channels must be even (it sizes the sinusoidal time features)");
  }
  impl_->shape = shape;
  impl_->net = UNetNet(params, shape);
}

TimeUNet::~TimeUNet() = default;

at::Tensor TimeUNet::predict(const at::Tensor& x_t, const at::Tensor& t) {
  const auto& s = impl_->shape;
  if (x_t.dim() != 4 || x_t.size(1) != s.channels || x_t.size(2) != s.height ||
      x_t.size(3) != s.width) {
    throw InputError(fmt::format("the UNet takes images [B, {}, {}, {}], got {}", s.channels,
                                 s.height, s.width, c10::str(x_t.sizes())));
  }
  return impl_->net->forward(x_t, t.to(x_t.device(), torch::kFloat));
}

std::vector<at::Tensor> TimeUNet::parameters() const { return impl_->net->parameters(); }

void TimeUNet::train(bool on) { impl_->net->train(on); }

int64_t TimeUNet::parameter_count() const {
  int64_t count = 0;
  for (const auto& p : impl_->net->parameters()) count += p.numel();
  return count;
}

void TimeUNet::to(const std::string& device) {
  impl_->device = torch::Device(device);
  impl_->net->to(impl_->device);
}

void TimeUNet::save(const std::filesystem::path& file) const {
  torch::serialize::OutputArchive archive;
  impl_->net->save(archive);
  archive.save_to(file.string());
}

void TimeUNet::load(const std::filesystem::path& file) {
  // libtorch's Module::load replaces each tensor by the stored one whatever
  // its shape, so a checkpoint of another width would load silently.
  std::vector<std::vector<int64_t>> shapes;
  for (const auto& p : impl_->net->parameters()) shapes.push_back(p.sizes().vec());
  try {
    torch::serialize::InputArchive archive;
    archive.load_from(file.string(), impl_->device);
    impl_->net->load(archive);
    require_finite_weights(impl_->net->parameters(), file);
    const auto loaded = impl_->net->parameters();
    for (size_t i = 0; i < loaded.size(); ++i) {
      if (loaded[i].sizes().vec() != shapes[i]) {
        throw InputError(fmt::format(
            "cannot load the UNet denoiser {}: it holds another architecture (a weight of shape "
            "{} where the card's network has {})",
            file.string(), c10::str(loaded[i].sizes()), c10::str(at::IntArrayRef(shapes[i]))));
      }
    }
  } catch (const c10::Error& e) {
    throw InputError(fmt::format("cannot load the UNet denoiser {}: {}", file.string(),
                                 e.what_without_backtrace()));
  }
}

}  // namespace svdd::image
