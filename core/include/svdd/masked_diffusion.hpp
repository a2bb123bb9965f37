// Masked (absorbing-state) discrete diffusion, MDLM-style (Sahoo et al. 2024,
// "Simple and Effective Masked Diffusion Language Models"), with the
// log-linear schedule alpha(t) = 1 - t: at time t each token is masked with
// probability t. The reverse step from step s to s-1 (t = s/T) unmasks each
// still-masked position independently with probability 1/s, drawing its token
// from the denoiser; unmasked tokens are carried over; the last step (s = 1)
// unmasks everything. A plugin supplies only the denoiser network.
#pragma once

#include <ATen/core/Tensor.h>

#include <memory>

#include "svdd/diffusion_model.hpp"
#include "svdd/export.hpp"

namespace svdd {

class SVDD_API MaskedDenoiser {
 public:
  virtual ~MaskedDenoiser();
  // x_t [B, L] int64 token ids (mask = domain.mask_id) and t [B] float32 in
  // (0, 1] -> logits of x_0 [B, L, V] float32, on x_t's device. The mask
  // token's logit is ignored (it is set to -inf by the family).
  virtual at::Tensor logits(const at::Tensor& x_t, const at::Tensor& t) = 0;
};

struct MaskedDiffusionOptions {
  int steps = 128;            // T
  int64_t chunk_rows = 4096;  // most rows per denoiser call
  std::string device = "cpu";
};

// `domain` must be discrete with a mask token.
SVDD_API std::unique_ptr<DiffusionModel> make_masked_diffusion(
    Domain domain, std::shared_ptr<MaskedDenoiser> denoiser, MaskedDiffusionOptions options,
    std::shared_ptr<const ExactDistribution> exact = nullptr);

}  // namespace svdd
