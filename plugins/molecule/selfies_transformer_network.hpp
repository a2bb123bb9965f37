// Private to the molecule plugin: the time-conditioned transformer over
// SELFIES tokens that its denoiser (selfies_transformer.hpp) and its value
// network (selfies_transformer_value.cpp) share, so that a value network can
// start from a pretrained denoiser's weights (the same names and shapes).
// Includes torch: only the plugin's .cpp files include it.
#pragma once

#include <fmt/format.h>
#include <torch/torch.h>

#include <cmath>
#include <vector>

#include "selfies_transformer.hpp"

namespace svdd::molecule {

constexpr int64_t kTimeFeatures = 16;

// Pre-norm block: x + attention(norm(x) + time), then x + MLP(norm(x)).
struct TransformerBlockImpl : torch::nn::Module {
  TransformerBlockImpl(const TransformerParams& p)
      : norm1(
            register_module("norm1", torch::nn::LayerNorm(torch::nn::LayerNormOptions({p.width})))),
        norm2(
            register_module("norm2", torch::nn::LayerNorm(torch::nn::LayerNormOptions({p.width})))),
        attention(register_module(
            "attention",
            torch::nn::MultiheadAttention(
                torch::nn::MultiheadAttentionOptions(p.width, p.heads).dropout(p.dropout)))),
        time(register_module("time", torch::nn::Linear(p.width, p.width))),
        up(register_module("up", torch::nn::Linear(p.width, p.feedforward))),
        down(register_module("down", torch::nn::Linear(p.feedforward, p.width))),
        dropout(register_module("dropout", torch::nn::Dropout(p.dropout))) {}

  // h [L, B, W] (MultiheadAttention's layout), temb [B, W].
  torch::Tensor forward(torch::Tensor h, const torch::Tensor& temb) {
    torch::Tensor y = norm1(h) + time(temb).unsqueeze(0);
    h = h +
        dropout(std::get<0>(attention->forward(y, y, y, torch::Tensor(), /*need_weights=*/false)));
    return h + dropout(down(torch::gelu(up(norm2(h)))));
  }

  torch::nn::LayerNorm norm1, norm2;
  torch::nn::MultiheadAttention attention;
  torch::nn::Linear time, up, down;
  torch::nn::Dropout dropout;
};
TORCH_MODULE(TransformerBlock);

struct SelfiesTransformerNetworkImpl : torch::nn::Module {
  SelfiesTransformerNetworkImpl(const TransformerParams& p, int64_t vocab, int64_t length)
      : embed(register_module("embed", torch::nn::Embedding(vocab, p.width))),
        position(register_parameter("position", torch::randn({length, 1, p.width}) * 0.02)),
        time_in(register_module("time_in", torch::nn::Linear(kTimeFeatures + 1, p.width))),
        time_out(register_module("time_out", torch::nn::Linear(p.width, p.width))),
        norm_out(register_module("norm_out",
                                 torch::nn::LayerNorm(torch::nn::LayerNormOptions({p.width})))),
        out(register_module("out", torch::nn::Linear(p.width, vocab))) {
    for (int64_t i = 0; i < p.layers; ++i) {
      blocks.push_back(register_module(fmt::format("block{}", i), TransformerBlock(p)));
    }
  }

  // x [B, L] int64, t [B] float -> logits [B, L, V].
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& t) {
    return out(features(embed(x), t)).transpose(0, 1).contiguous();  // [B, L, V]
  }

  // Token embeddings [B, L, W] (embed(x), or one-hot rows times its weight)
  // and t [B] -> the last block's normalised features [L, B, W].
  torch::Tensor features(const torch::Tensor& embedded, const torch::Tensor& t) {
    // t and sin/cos(pi 2^k t), k < kTimeFeatures / 2.
    std::vector<torch::Tensor> features{t.unsqueeze(1)};
    for (int64_t k = 0; k < kTimeFeatures / 2; ++k) {
      torch::Tensor angle = t.unsqueeze(1) * (M_PI * std::pow(2.0, double(k)));
      features.push_back(angle.sin());
      features.push_back(angle.cos());
    }
    torch::Tensor temb = torch::silu(time_out(torch::silu(time_in(torch::cat(features, 1)))));
    torch::Tensor h = embedded.transpose(0, 1) + position;  // [L, B, W]
    for (auto& block : blocks) h = block->forward(h, temb);
    return norm_out(h);
  }

  torch::nn::Embedding embed;
  torch::Tensor position;
  torch::nn::Linear time_in, time_out;
  torch::nn::LayerNorm norm_out;
  torch::nn::Linear out;
  std::vector<TransformerBlock> blocks;
};
TORCH_MODULE(SelfiesTransformerNetwork);

}  // namespace svdd::molecule
