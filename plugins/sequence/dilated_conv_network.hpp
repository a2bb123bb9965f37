// Private to the sequence plugin: the time-conditioned residual network of
// dilated 1-D convolutions that its denoiser (conv_denoiser.hpp) and its
// value network (dilated_conv_value.cpp) share, so that a value network can
// start from a pretrained denoiser's weights (the same names and shapes).
// Includes torch: only the plugin's .cpp files include it.
#pragma once

#include <fmt/format.h>
#include <torch/torch.h>

#include <cmath>
#include <vector>

#include "conv_denoiser.hpp"

namespace svdd::sequence {

// One residual block: norm, add the time embedding, dilated convolution,
// GELU, 1x1 mix, add back.
struct DilatedBlockImpl : torch::nn::Module {
  DilatedBlockImpl(int64_t channels, int64_t kernel, int64_t dilation)
      : norm(register_module("norm", torch::nn::GroupNorm(8, channels))),
        time(register_module("time", torch::nn::Linear(channels, channels))),
        conv(register_module("conv",
                             torch::nn::Conv1d(torch::nn::Conv1dOptions(channels, channels, kernel)
                                                   .dilation(dilation)
                                                   .padding(dilation * (kernel - 1) / 2)))),
        mix(register_module("mix", torch::nn::Conv1d(channels, channels, 1))) {}

  torch::Tensor forward(const torch::Tensor& h, const torch::Tensor& temb) {
    torch::Tensor y = norm(h) + time(temb).unsqueeze(-1);
    return h + mix(torch::gelu(conv(y)));
  }

  torch::nn::GroupNorm norm;
  torch::nn::Linear time;
  torch::nn::Conv1d conv, mix;
};
TORCH_MODULE(DilatedBlock);

struct DilatedConvNetworkImpl : torch::nn::Module {
  DilatedConvNetworkImpl(const ConvDenoiserParams& p, int64_t vocab)
      : time_features(p.time_features),
        embed(register_module("embed", torch::nn::Embedding(vocab, p.channels))),
        time_in(register_module("time_in", torch::nn::Linear(p.time_features + 1, p.channels))),
        time_out(register_module("time_out", torch::nn::Linear(p.channels, p.channels))),
        norm_out(register_module("norm_out", torch::nn::GroupNorm(8, p.channels))),
        out(register_module("out", torch::nn::Conv1d(p.channels, vocab, 1))) {
    for (size_t i = 0; i < p.dilations.size(); ++i) {
      blocks.push_back(register_module(fmt::format("block{}", i),
                                       DilatedBlock(p.channels, p.kernel, p.dilations[i])));
    }
  }

  // x [B, L] int64, t [B] float -> logits [B, L, V].
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& t) {
    return out(features(embed(x), t)).transpose(1, 2);  // [B, L, V]
  }

  // Token embeddings [B, L, C] (embed(x), or one-hot rows times its weight)
  // and t [B] -> the last block's normalised features [B, C, L].
  torch::Tensor features(const torch::Tensor& embedded, const torch::Tensor& t) {
    // t and sin/cos(pi 2^k t), k < time_features / 2.
    std::vector<torch::Tensor> features{t.unsqueeze(1)};
    for (int64_t k = 0; k < time_features / 2; ++k) {
      torch::Tensor angle = t.unsqueeze(1) * (M_PI * std::pow(2.0, double(k)));
      features.push_back(angle.sin());
      features.push_back(angle.cos());
    }
    torch::Tensor temb = time_out(torch::silu(time_in(torch::cat(features, 1))));
    temb = torch::silu(temb);
    torch::Tensor h = embedded.transpose(1, 2);  // [B, C, L]
    for (auto& block : blocks) h = block->forward(h, temb);
    return torch::gelu(norm_out(h));
  }

  int64_t time_features;
  torch::nn::Embedding embed;
  torch::nn::Linear time_in, time_out;
  torch::nn::GroupNorm norm_out;
  torch::nn::Conv1d out;
  std::vector<DilatedBlock> blocks;
};
TORCH_MODULE(DilatedConvNetwork);

}  // namespace svdd::sequence
