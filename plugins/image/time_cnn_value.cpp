// The image plugin's value-network architecture "image.time_cnn" for
// SVDD-MC (Li et al. 2024, arXiv:2408.08252, section 4.2): the soft value
// v(x_t, t) of a noisy image, from a small time-conditioned CNN shaped like
// the encoder half of the plugin's UNet (time_unet.cpp, after DDPM: Ho et al.
// 2020), averaged over pixels into a small regression head:
//
//   x_t [B, C, H, W] -> conv -> per level: residual block with t, stride-2
//   conv -> residual block -> [B, C', H', W'] -> mean over pixels [B, C']
//   -> Linear, SiLU, Linear -> [B]
//
// Its layers carry the UNet's names (time_in, time_out, input, down_blocks,
// downsample, middle1), so `svdd train` can start it from a pretrained
// image.ddpm checkpoint of the same widths ([training] warm_start =
// "mnist_ddpm.pt"). t = step / T is scaled by `time_scale` before the
// sinusoidal features, to the denoiser's training timesteps, so that a warm
// start sees the times it knows.
#include "time_cnn_value.hpp"

#include <fmt/format.h>
#include <torch/torch.h>

#include "svdd/error.hpp"
#include "svdd/value_model.hpp"
#include "time_conv_blocks.hpp"
#include "time_unet.hpp"

namespace svdd::image {
namespace {

struct TimeCnnValueParams {
  UNetParams body;
  double time_scale = 1000.0;
  int64_t head = 64;

  void visit(ParamVisitor& v) {
    body.visit(v);
    v.require(body.base_channels % 2 == 0, "base_channels",
              "must be even (it sizes the sinusoidal time features)");
    v.field("time_scale", time_scale,
            "t = step / T is multiplied by this before the time features: the denoiser's "
            "training timesteps (1000 for DDPM), so a warm start sees the times it knows");
    v.positive("time_scale", time_scale);
    v.field("head", head, "width of the regression head's hidden layer");
    v.at_least("head", head, 1);
  }
};

class TimeCnnValue final : public ValueModel {
 public:
  TimeCnnValue(const TimeCnnValueParams& p, int64_t channels)
      : base_(p.body.base_channels), time_scale_(p.time_scale) {
    const int64_t time_dim = 4 * base_;
    const int64_t levels = static_cast<int64_t>(p.body.channel_multipliers.size());
    time_in_ = register_module("time_in", torch::nn::Linear(base_, time_dim));
    time_out_ = register_module("time_out", torch::nn::Linear(time_dim, time_dim));
    input_ = register_module(
        "input", torch::nn::Conv2d(torch::nn::Conv2dOptions(channels, base_, 3).padding(1)));
    int64_t width = base_;
    for (int64_t l = 0; l < levels; ++l) {
      const int64_t out = base_ * p.body.channel_multipliers[l];
      down_blocks_->push_back(ResidualBlock(width, out, time_dim, p.body.groups, p.body.dropout));
      width = out;
      if (l + 1 < levels) {
        downsample_->push_back(
            torch::nn::Conv2d(torch::nn::Conv2dOptions(width, width, 3).stride(2).padding(1)));
      }
    }
    register_module("down_blocks", down_blocks_);
    register_module("downsample", downsample_);
    middle1_ = register_module(
        "middle1", ResidualBlock(width, width, time_dim, p.body.groups, p.body.dropout));
    head_norm_ = register_module("head_norm", torch::nn::GroupNorm(p.body.groups, width));
    head_in_ = register_module("head_in", torch::nn::Linear(width, p.head));
    head_out_ = register_module("head_out", torch::nn::Linear(p.head, 1));
  }

  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& t) override {
    torch::Tensor temb =
        time_out_(torch::silu(time_in_(timestep_features(t * time_scale_, base_))));
    torch::Tensor h = input_(x);
    const size_t levels = down_blocks_->size();
    for (size_t l = 0; l < levels; ++l) {
      h = down_blocks_[l]->as<ResidualBlock>()->forward(h, temb);
      if (l + 1 < levels) h = downsample_[l]->as<torch::nn::Conv2d>()->forward(h);
    }
    h = torch::silu(head_norm_(middle1_(h, temb))).mean({2, 3});  // [B, C']
    return head_out_(torch::silu(head_in_(h))).squeeze(1);
  }

 private:
  int64_t base_;
  double time_scale_;
  torch::nn::Linear time_in_{nullptr}, time_out_{nullptr};
  torch::nn::Conv2d input_{nullptr};
  torch::nn::ModuleList down_blocks_, downsample_;
  ResidualBlock middle1_{nullptr};
  torch::nn::GroupNorm head_norm_{nullptr};
  torch::nn::Linear head_in_{nullptr}, head_out_{nullptr};
};

}  // namespace

void register_time_cnn_value(Registry& registry) {
  registry.add<ComponentKind::value_network, TimeCnnValueParams>(
      "image.time_cnn",
      "SVDD-MC value network for images: the UNet's time-conditioned encoder (residual blocks, "
      "stride-2 convolutions), averaged over pixels into a small head; warm-starts from an "
      "image.ddpm checkpoint of the same widths",
      [](const TimeCnnValueParams& p, const ValueModelContext& c) -> std::shared_ptr<ValueModel> {
        if (c.domain.discrete() || c.domain.shape.size() != 3) {
          throw InputError(fmt::format("image.time_cnn: needs images [C, H, W]; domain '{}' is {}",
                                       c.domain.name,
                                       c.domain.discrete() ? "discrete" : "not three-dimensional"));
        }
        return std::make_shared<TimeCnnValue>(p, c.domain.shape[0]);
      });
}

}  // namespace svdd::image
