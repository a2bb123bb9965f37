// The denoiser of the molecule plugin's masked diffusion models: a small
// time-conditioned transformer over SELFIES tokens (bidirectional
// self-attention, pre-norm blocks, learned positions), in the spirit of
// MDLM's DiT backbone. Attention rather than convolution because a SELFIES
// token's meaning depends on tokens far away: a [Ring1] and its index
// token, or a branch and the atoms its length covers.
// Tokens [B, L] int64 and t [B] -> logits of x_0 [B, L, V] float32.
//
// A checkpoint NAME.pt travels with its card NAME.card.toml (written by the
// trainer molecule.train_mdlm); [network] and [domain] on the card rebuild
// the network and its domain.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "molecule_domain.hpp"
#include "svdd/training/masked_diffusion_training.hpp"
#include "svdd/params.hpp"

namespace svdd::molecule {

struct TransformerParams {
  int64_t width = 128;
  int64_t heads = 4;
  int64_t layers = 4;
  int64_t feedforward = 256;
  double dropout = 0.1;
  void visit(ParamVisitor& v);
};

class SelfiesTransformer final : public TrainableMaskedDenoiser {
 public:
  // A fresh network (weights from libtorch's global generator: seed it).
  SelfiesTransformer(const TransformerParams& params, int64_t vocab, int64_t length);
  ~SelfiesTransformer() override;

  at::Tensor logits(const at::Tensor& x_t, const at::Tensor& t) override;
  std::vector<at::Tensor> parameters() const override;
  void train(bool on) override;
  int64_t parameter_count() const;
  void to(const std::string& device);
  void save(const std::filesystem::path& file) const;
  // Throws InputError naming the file when it cannot be read or holds
  // another architecture.
  void load(const std::filesystem::path& file);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

struct LoadedTransformer {
  std::shared_ptr<SelfiesTransformer> denoiser;  // evaluation mode, on the device
  SelfiesDomainCard domain;
  TransformerParams params;
};

// Loads a checkpoint of molecule.train_mdlm with its card. Throws
// InputError naming the file when either is missing or they disagree.
LoadedTransformer load_selfies_transformer(const std::filesystem::path& checkpoint,
                                           const std::string& device);

}  // namespace svdd::molecule
