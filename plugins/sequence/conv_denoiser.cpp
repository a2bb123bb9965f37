#include "conv_denoiser.hpp"

#include <fmt/format.h>
#include <torch/torch.h>

#include <cmath>

#include "svdd/error.hpp"
#include "svdd/trainer.hpp"
#include "svdd/training/card.hpp"
#include "svdd/training/finite_weights.hpp"

namespace svdd::sequence {

void ConvDenoiserParams::visit(ParamVisitor& v) {
  v.field("channels", channels, "width of every convolution");
  v.require(channels >= 8 && channels % 8 == 0, "channels", "must be a multiple of 8, >= 8");
  v.field("kernel", kernel, "kernel size of the dilated convolutions (odd)");
  v.require(kernel >= 1 && kernel % 2 == 1, "kernel", "must be odd and >= 1");
  v.field("dilations", dilations, "one residual block per entry, with this dilation");
  v.require(!dilations.empty(), "dilations", "must name at least one block");
  for (int64_t d : dilations) v.require(d >= 1, "dilations", "every dilation must be >= 1");
  v.field("time_features", time_features, "sinusoidal features of t (even)");
  v.require(time_features >= 0 && time_features % 2 == 0, "time_features", "must be even, >= 0");
}

void SequenceDomainCard::visit(ParamVisitor& v) {
  v.field("alphabet", alphabet, "\"dna\" or \"rna\"");
  v.require(alphabet == "dna" || alphabet == "rna", "alphabet", "must be \"dna\" or \"rna\"");
  v.field("length", length, "letters per sequence");
  v.at_least("length", length, 1);
}

namespace {

// One residual block: norm, add the time embedding, dilated convolution,
// GELU, 1x1 mix, add back.
struct BlockImpl : torch::nn::Module {
  BlockImpl(int64_t channels, int64_t kernel, int64_t dilation)
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
TORCH_MODULE(Block);

struct NetworkImpl : torch::nn::Module {
  NetworkImpl(const ConvDenoiserParams& p, int64_t vocab)
      : time_features(p.time_features),
        embed(register_module("embed", torch::nn::Embedding(vocab, p.channels))),
        time_in(register_module("time_in", torch::nn::Linear(p.time_features + 1, p.channels))),
        time_out(register_module("time_out", torch::nn::Linear(p.channels, p.channels))),
        norm_out(register_module("norm_out", torch::nn::GroupNorm(8, p.channels))),
        out(register_module("out", torch::nn::Conv1d(p.channels, vocab, 1))) {
    for (size_t i = 0; i < p.dilations.size(); ++i) {
      blocks.push_back(
          register_module(fmt::format("block{}", i), Block(p.channels, p.kernel, p.dilations[i])));
    }
  }

  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& t) {
    // t and sin/cos(pi 2^k t), k < time_features / 2.
    std::vector<torch::Tensor> features{t.unsqueeze(1)};
    for (int64_t k = 0; k < time_features / 2; ++k) {
      torch::Tensor angle = t.unsqueeze(1) * (M_PI * std::pow(2.0, double(k)));
      features.push_back(angle.sin());
      features.push_back(angle.cos());
    }
    torch::Tensor temb = time_out(torch::silu(time_in(torch::cat(features, 1))));
    temb = torch::silu(temb);
    torch::Tensor h = embed(x).transpose(1, 2);  // [B, C, L]
    for (auto& block : blocks) h = block->forward(h, temb);
    return out(torch::gelu(norm_out(h))).transpose(1, 2);  // [B, L, V]
  }

  int64_t time_features;
  torch::nn::Embedding embed;
  torch::nn::Linear time_in, time_out;
  torch::nn::GroupNorm norm_out;
  torch::nn::Conv1d out;
  std::vector<Block> blocks;
};
TORCH_MODULE(Network);

}  // namespace

struct ConvDenoiser::Impl {
  Network net;
  torch::Device device{torch::kCPU};
};

ConvDenoiser::ConvDenoiser(const ConvDenoiserParams& params, int64_t vocab)
    : impl_(std::make_unique<Impl>(Impl{Network(params, vocab)})) {}
ConvDenoiser::~ConvDenoiser() = default;

at::Tensor ConvDenoiser::logits(const at::Tensor& x_t, const at::Tensor& t) {
  return impl_->net->forward(x_t.to(impl_->device), t.to(impl_->device, torch::kFloat));
}

std::vector<at::Tensor> ConvDenoiser::parameters() const { return impl_->net->parameters(); }

int64_t ConvDenoiser::parameter_count() const {
  int64_t n = 0;
  for (const auto& p : impl_->net->parameters()) n += p.numel();
  return n;
}

void ConvDenoiser::train(bool on) { impl_->net->train(on); }

void ConvDenoiser::to(const std::string& device) {
  impl_->device = torch::Device(device);
  impl_->net->to(impl_->device);
}

void ConvDenoiser::save(const std::filesystem::path& file) const {
  torch::serialize::OutputArchive archive;
  impl_->net->save(archive);
  archive.save_to(file.string());
}

void ConvDenoiser::load(const std::filesystem::path& file) {
  try {
    torch::serialize::InputArchive archive;
    archive.load_from(file.string(), impl_->device);
    impl_->net->load(archive);
    require_finite_weights(impl_->net->parameters(), file);
  } catch (const c10::Error& e) {
    throw InputError(
        fmt::format("cannot load the denoiser {}: {}", file.string(), e.what_without_backtrace()));
  }
}

LoadedDenoiser load_conv_denoiser(const std::filesystem::path& checkpoint,
                                  const std::string& device) {
  if (!std::filesystem::is_regular_file(checkpoint)) {
    throw InputError(fmt::format("denoiser checkpoint not found: {}", checkpoint.string()));
  }
  const auto card = checked_card(checkpoint);
  LoadedDenoiser loaded;
  loaded.params = read_card_section<ConvDenoiserParams>(card, "network");
  const auto domain = read_card_section<SequenceDomainCard>(card, "domain");
  loaded.alphabet = alphabet_from(domain.alphabet);
  loaded.length = domain.length;
  loaded.denoiser =
      std::make_shared<ConvDenoiser>(loaded.params, sequence_domain(loaded.alphabet, 1).vocab_size);
  loaded.denoiser->to(device);
  loaded.denoiser->load(checkpoint);
  loaded.denoiser->train(false);
  return loaded;
}

}  // namespace svdd::sequence
