// Private to the image plugin: the pieces of the time-conditioned UNet
// (time_unet.cpp) that its value network (time_cnn_value.cpp) shares, so
// that a value network can start from a pretrained denoiser's encoder (the
// same names and shapes). Includes torch: only the plugin's .cpp files
// include it.
#pragma once

#include <torch/torch.h>

#include <cmath>

namespace svdd::image {

// Sinusoidal features of the timestep (Vaswani et al. 2017, as DDPM uses).
inline torch::Tensor timestep_features(const torch::Tensor& t, int64_t dim) {
  const int64_t half = dim / 2;
  torch::Tensor freqs =
      torch::exp(-std::log(10000.0) * torch::arange(half, t.options()) / double(half));
  torch::Tensor angles = t.unsqueeze(1) * freqs.unsqueeze(0);
  return torch::cat({angles.sin(), angles.cos()}, 1);
}

struct ResidualBlockImpl : torch::nn::Module {
  ResidualBlockImpl(int64_t in, int64_t out, int64_t time_dim, int64_t groups, double dropout_p)
      : norm1(register_module("norm1", torch::nn::GroupNorm(groups, in))),
        conv1(register_module("conv1",
                              torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, 3).padding(1)))),
        time(register_module("time", torch::nn::Linear(time_dim, out))),
        norm2(register_module("norm2", torch::nn::GroupNorm(groups, out))),
        dropout(register_module("dropout", torch::nn::Dropout(dropout_p))),
        conv2(register_module(
            "conv2", torch::nn::Conv2d(torch::nn::Conv2dOptions(out, out, 3).padding(1)))) {
    if (in != out) {
      skip = register_module("skip", torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, 1)));
    }
  }

  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& temb) {
    torch::Tensor h = conv1(torch::silu(norm1(x)));
    h = h + time(temb).unsqueeze(-1).unsqueeze(-1);
    h = conv2(dropout(torch::silu(norm2(h))));
    return h + (skip ? skip(x) : x);
  }

  torch::nn::GroupNorm norm1;
  torch::nn::Conv2d conv1;
  torch::nn::Linear time;
  torch::nn::GroupNorm norm2;
  torch::nn::Dropout dropout;
  torch::nn::Conv2d conv2;
  torch::nn::Conv2d skip{nullptr};
};
TORCH_MODULE(ResidualBlock);

}  // namespace svdd::image
