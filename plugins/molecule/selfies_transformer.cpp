#include "selfies_transformer.hpp"

#include <fmt/format.h>
#include <torch/torch.h>

#include <cmath>

#include "selfies_transformer_network.hpp"
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

struct SelfiesTransformer::Impl {
  SelfiesTransformerNetwork net;
  torch::Device device{torch::kCPU};
};

SelfiesTransformer::SelfiesTransformer(const TransformerParams& params, int64_t vocab,
                                       int64_t length)
    : impl_(std::make_unique<Impl>(Impl{SelfiesTransformerNetwork(params, vocab, length)})) {}
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
