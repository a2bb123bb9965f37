// The denoiser of the image plugin's Gaussian diffusion models: a small
// time-conditioned UNet in the shape of DDPM's (Ho et al. 2020): residual
// blocks with group normalisation whose features are shifted by an
// embedding of the timestep, one block per resolution on the way down and
// on the way up, skip connections between them, stride-2 convolutions to
// halve and nearest-neighbour upsampling to double. No attention: at 28x28
// the convolutions already see the whole digit by the lowest resolution.
// x_t [B, C, H, W] float32 and t [B] float32 in [1, N] -> the predicted
// noise [B, C, H, W] (or x_0, per the model's prediction).
//
// A checkpoint NAME.pt travels with its card NAME.card.toml (written by the
// trainer image.train_ddpm); [network], [image] and [schedule] on the card
// rebuild the network and its model.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "svdd/training/gaussian_diffusion_training.hpp"
#include "svdd/params.hpp"

namespace svdd::image {

struct UNetParams {
  int64_t base_channels = 32;
  // Channels of each resolution as multiples of base_channels; one entry per
  // resolution (28, 14, 7 for three entries on 28x28 images).
  std::vector<int64_t> channel_multipliers{1, 2, 2};
  int64_t groups = 8;  // group normalisation groups (must divide every width)
  double dropout = 0.0;
  void visit(ParamVisitor& v);
};

// What the network sees: the image shape.
struct ImageShape {
  int64_t channels = 1, height = 28, width = 28;
  void visit(ParamVisitor& v);
};

class TimeUNet final : public TrainableGaussianDenoiser {
 public:
  // A fresh network (weights from libtorch's global generator: seed it).
  // InputError when the image sides do not halve evenly at every level.
  TimeUNet(const UNetParams& params, const ImageShape& shape);
  ~TimeUNet() override;

  at::Tensor predict(const at::Tensor& x_t, const at::Tensor& t) override;
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

}  // namespace svdd::image
