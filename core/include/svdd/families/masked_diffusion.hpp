// Masked (absorbing-state) discrete diffusion, MDLM-style (Sahoo et al. 2024,
// "Simple and Effective Masked Diffusion Language Models"), with the
// log-linear schedule alpha(t) = 1 - t: at time t each token is masked with
// probability t. The reverse step from step s to s-1 (t = s/T) unmasks each
// still-masked position independently with probability 1/s, drawing its token
// from the denoiser; unmasked tokens are carried over; the last step (s = 1)
// unmasks everything. A plugin supplies only the denoiser network.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <memory>
#include <vector>

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

// The MDLM bound on -log p(x_0) for the log-linear schedule (Sahoo et al.
// 2024, eq. 10 with alpha(t) = 1 - t, alpha'(t) / (1 - alpha(t)) = -1/t):
//   -log p(x_0) <= E_{t ~ U(0, 1)} E_{x_t ~ q(x_t | x_0)} [ (1/t) sum_{l : x_t^l masked}
//                                                         -log p_theta(x_0^l | x_t) ].
// One Monte Carlo term per row: x0 [B, L] int64 clean tokens, t [B] float32
// in (0, 1], uniforms [B, L] float32 in [0, 1) (position l is masked when
// its uniform is below t) -> [B] float32, (1/t) times the cross-entropy
// summed over the masked positions. Differentiable in the denoiser's
// parameters: its mean is the training loss, and minus its mean over t is
// an evidence lower bound.
SVDD_API at::Tensor masked_diffusion_loss(MaskedDenoiser& denoiser, const at::Tensor& x0,
                                          const at::Tensor& t, int64_t mask_id,
                                          const at::Tensor& uniforms);

// The evidence lower bound of log p(x_0) [B] float64 (nats per sequence),
// with t on the fixed grid (k + 0.5) / t_points, k < t_points, for every row
// (a deterministic quadrature in t). Row i draws its masks from a generator
// seeded with row_seeds[i], so a sequence's bound does not depend on the
// batch it comes in.
SVDD_API at::Tensor masked_diffusion_elbo(MaskedDenoiser& denoiser, const at::Tensor& x0,
                                          int64_t mask_id, int64_t t_points,
                                          const std::vector<uint64_t>& row_seeds);

}  // namespace svdd
