// ValueModel: the architecture of an SVDD-MC value network v_theta(x_t, t)
// (Li et al. 2024, arXiv:2408.08252, section 4.2), as a registered component
// (ComponentKind::value_network). Core registers "mlp", for any domain;
// a plugin registers architectures for its own domains (a dilated
// convolution over DNA, a transformer over SELFIES, a CNN over images)
// the way it registers models:
//
//   registry.add<ComponentKind::value_network, MyParams>(
//       "sequence.dilated_conv", "...",
//       [](const MyParams& p, const ValueModelContext& c) {
//         return std::make_shared<MyValueModel>(p, c.domain);
//       });
//
// `svdd train` ([training] type = "value_network", [training.network] type =
// "...") fits it; the card beside the checkpoint names the architecture and
// its table, and the value "learned" and classifier guidance rebuild it
// through the registry from there (value_network.hpp). ValueNetwork wraps
// the model with the regression target's standardisation, so a model
// predicts standardised values.
//
// This header includes torch's nn::Module; include it only where the
// network is defined, never from a header others include.
#pragma once

#include <torch/nn/module.h>

#include <string>
#include <vector>

#include "svdd/export.hpp"
#include "svdd/registry.hpp"  // ValueModelContext

namespace svdd {

class SVDD_API ValueModel : public torch::nn::Module {
 public:
  ~ValueModel() override;
  // x [B, ...domain shape] on the module's device: int64 tokens (the mask
  // token included) for discrete domains, float32 for continuous ones;
  // t [B] float32, step / T in [0, 1] (0: clean) -> [B] float32, the
  // standardised prediction.
  virtual torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& t) = 0;
  // Discrete domains, for classifier guidance: the same for one-hot rows
  // [B, L, V] float32, differentiable in them. The default throws
  // InputError saying that the architecture has no gradient in tokens.
  virtual torch::Tensor forward_one_hot(const torch::Tensor& one_hot, const torch::Tensor& t);

 protected:
  // Registers `network`'s child modules and own parameters on this module
  // under their own names (not "network.*"), except the children named in
  // `skip`, so that a checkpoint of `network` (a pretrained denoiser) fits
  // this module by name for a warm start.
  void adopt_layers(torch::nn::Module& network, const std::vector<std::string>& skip);
};

}  // namespace svdd
