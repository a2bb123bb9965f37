// The denoiser of the sequence plugin's masked diffusion models: a
// time-conditioned residual network of dilated 1-D convolutions (in the
// spirit of the dilated CNNs DRAKES and SVDD use for enhancers, chosen here
// for CPU speed). Tokens [B, L] and t [B] -> logits of x_0 [B, L, V].
//
// A checkpoint NAME.pt travels with its card NAME.card.toml, written by the
// trainer `sequence.train_mdlm`; [network] and [domain] on the card say how
// to rebuild the network and which sequences it models.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "sequence_domain.hpp"
#include "svdd/training/masked_diffusion_training.hpp"
#include "svdd/params.hpp"

namespace svdd::sequence {

struct ConvDenoiserParams {
  int64_t channels = 64;
  int64_t kernel = 5;
  std::vector<int64_t> dilations{1, 2, 4, 8, 16, 1, 2, 4};
  int64_t time_features = 16;  // sinusoidal features of t besides t itself (even)

  void visit(ParamVisitor& v);
};

// What a checkpoint models: [domain] on its card.
struct SequenceDomainCard {
  std::string alphabet = "dna";
  int64_t length = 0;

  void visit(ParamVisitor& v);
};

class ConvDenoiser final : public TrainableMaskedDenoiser {
 public:
  // A fresh network over `vocab` token ids (the mask included), weights from
  // libtorch's global generator (seed it first).
  ConvDenoiser(const ConvDenoiserParams& params, int64_t vocab);
  ~ConvDenoiser() override;

  // x_t [B, L] int64 and t [B] float32 -> logits [B, L, vocab] float32, on
  // the network's device.
  at::Tensor logits(const at::Tensor& x_t, const at::Tensor& t) override;

  std::vector<at::Tensor> parameters() const override;
  int64_t parameter_count() const;
  void train(bool on) override;
  void to(const std::string& device);
  // Throws InputError naming the file when it cannot be read or holds
  // another architecture.
  void save(const std::filesystem::path& file) const;
  void load(const std::filesystem::path& file);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

struct LoadedDenoiser {
  std::shared_ptr<ConvDenoiser> denoiser;  // evaluation mode, on the device
  Alphabet alphabet = Alphabet::dna;
  int64_t length = 0;
  ConvDenoiserParams params;
};

// Loads a checkpoint of `sequence.train_mdlm` and its card. Throws
// InputError naming the file for a missing or mismatching checkpoint.
LoadedDenoiser load_conv_denoiser(const std::filesystem::path& checkpoint,
                                  const std::string& device);

}  // namespace svdd::sequence
