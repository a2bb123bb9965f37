#include "selfies_transformer.hpp"

#include <fmt/format.h>
#include <torch/torch.h>

#include <cmath>

#include "svdd/error.hpp"
#include "svdd/trainer.hpp"
#include "svdd/training/card.hpp"
#include "svdd/training/finite_weights.hpp"

namespace svdd::molecule {

void TransformerParams::visit(ParamVisitor& v) {
  v.field("width", width, "model width (embedding size)");
  v.at_least("width", width, 8);
  v.field("heads", heads, "attention heads (must divide width)");
  v.require(heads >= 1 && width % heads == 0, "heads", "must be >= 1 and divide width");
  v.field("layers", layers, "transformer blocks");
  v.at_least("layers", layers, 1);
  v.field("feedforward", feedforward, "hidden size of each block's MLP");
  v.at_least("feedforward", feedforward, 1);
  v.field("dropout", dropout, "dropout while training");
  v.in_half_open_range("dropout", dropout, 0, 1);
}

namespace {

constexpr int64_t kTimeFeatures = 16;

// Pre-norm block: x + attention(norm(x) + time), then x + MLP(norm(x)).
struct BlockImpl : torch::nn::Module {
  BlockImpl(const TransformerParams& p)
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
TORCH_MODULE(Block);

struct NetworkImpl : torch::nn::Module {
  NetworkImpl(const TransformerParams& p, int64_t vocab, int64_t length)
      : embed(register_module("embed", torch::nn::Embedding(vocab, p.width))),
        position(register_parameter("position", torch::randn({length, 1, p.width}) * 0.02)),
        time_in(register_module("time_in", torch::nn::Linear(kTimeFeatures + 1, p.width))),
        time_out(register_module("time_out", torch::nn::Linear(p.width, p.width))),
        norm_out(register_module("norm_out",
                                 torch::nn::LayerNorm(torch::nn::LayerNormOptions({p.width})))),
        out(register_module("out", torch::nn::Linear(p.width, vocab))) {
    for (int64_t i = 0; i < p.layers; ++i) {
      blocks.push_back(register_module(fmt::format("block{}", i), Block(p)));
    }
  }

  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& t) {
    // t and sin/cos(pi 2^k t), k < kTimeFeatures / 2.
    std::vector<torch::Tensor> features{t.unsqueeze(1)};
    for (int64_t k = 0; k < kTimeFeatures / 2; ++k) {
      torch::Tensor angle = t.unsqueeze(1) * (M_PI * std::pow(2.0, double(k)));
      features.push_back(angle.sin());
      features.push_back(angle.cos());
    }
    torch::Tensor temb = torch::silu(time_out(torch::silu(time_in(torch::cat(features, 1)))));
    torch::Tensor h = embed(x).transpose(0, 1) + position;  // [L, B, W]
    for (auto& block : blocks) h = block->forward(h, temb);
    return out(norm_out(h)).transpose(0, 1).contiguous();  // [B, L, V]
  }

  torch::nn::Embedding embed;
  torch::Tensor position;
  torch::nn::Linear time_in, time_out;
  torch::nn::LayerNorm norm_out;
  torch::nn::Linear out;
  std::vector<Block> blocks;
};
TORCH_MODULE(Network);

}  // namespace

struct SelfiesTransformer::Impl {
  Network net;
  torch::Device device{torch::kCPU};
};

SelfiesTransformer::SelfiesTransformer(const TransformerParams& params, int64_t vocab,
                                       int64_t length)
    : impl_(std::make_unique<Impl>(Impl{Network(params, vocab, length)})) {}
SelfiesTransformer::~SelfiesTransformer() = default;

at::Tensor SelfiesTransformer::logits(const at::Tensor& x_t, const at::Tensor& t) {
  return impl_->net->forward(x_t.to(impl_->device), t.to(impl_->device, torch::kFloat));
}

std::vector<at::Tensor> SelfiesTransformer::parameters() const { return impl_->net->parameters(); }

int64_t SelfiesTransformer::parameter_count() const {
  int64_t n = 0;
  for (const auto& p : impl_->net->parameters()) n += p.numel();
  return n;
}

void SelfiesTransformer::train(bool on) { impl_->net->train(on); }

void SelfiesTransformer::to(const std::string& device) {
  impl_->device = torch::Device(device);
  impl_->net->to(impl_->device);
}

void SelfiesTransformer::save(const std::filesystem::path& file) const {
  torch::serialize::OutputArchive archive;
  impl_->net->save(archive);
  archive.save_to(file.string());
}

void SelfiesTransformer::load(const std::filesystem::path& file) {
  try {
    torch::serialize::InputArchive archive;
    archive.load_from(file.string(), impl_->device);
    impl_->net->load(archive);
    require_finite_weights(impl_->net->parameters(), file);
  } catch (const c10::Error& e) {
    throw InputError(fmt::format("cannot load the SELFIES denoiser {}: {}", file.string(),
                                 e.what_without_backtrace()));
  }
}

LoadedTransformer load_selfies_transformer(const std::filesystem::path& checkpoint,
                                           const std::string& device) {
  if (!std::filesystem::is_regular_file(checkpoint)) {
    throw InputError(fmt::format("SELFIES denoiser checkpoint not found: {}", checkpoint.string()));
  }
  const auto card = checked_card(checkpoint);
  LoadedTransformer loaded;
  loaded.params = read_card_section<TransformerParams>(card, "network");
  loaded.domain = read_card_section<SelfiesDomainCard>(card, "domain");
  const Domain domain = selfies_domain(loaded.domain);
  loaded.denoiser =
      std::make_shared<SelfiesTransformer>(loaded.params, domain.vocab_size, loaded.domain.length);
  loaded.denoiser->to(device);
  loaded.denoiser->load(checkpoint);
  loaded.denoiser->train(false);
  return loaded;
}

}  // namespace svdd::molecule
