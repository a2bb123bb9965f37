#include "conv_denoiser.hpp"

#include <fmt/format.h>
#include <torch/torch.h>

#include <cmath>

#include "dilated_conv_network.hpp"
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

struct ConvDenoiser::Impl {
  DilatedConvNetwork net;
  torch::Device device{torch::kCPU};
};

ConvDenoiser::ConvDenoiser(const ConvDenoiserParams& params, int64_t vocab)
    : impl_(std::make_unique<Impl>(Impl{DilatedConvNetwork(params, vocab)})) {}
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
