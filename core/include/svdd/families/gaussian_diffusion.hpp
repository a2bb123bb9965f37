// Gaussian diffusion (DDPM; Ho et al. 2020) sampled with DDIM (Song et al.
// 2021, eq. 12): a training schedule of N steps with beta linear in
// [beta_start, beta_end], linear in sqrt(beta) ("scaled_linear", as latent
// diffusion trains), the cosine schedule of Nichol & Dhariwal 2021
// (diffusers' "squaredcos_cap_v2"), or the training alpha-bar given as
// numbers; sampled on `steps` evenly spaced timesteps (diffusers'
// "trailing" spacing) with stochasticity eta (eta = 1 is ancestral
// DDPM-like sampling, eta = 0 deterministic DDIM: note that SVDD needs
// eta > 0 so that its M candidates differ). The network predicts the noise,
// x_0, or v = sqrt(ab) eps - sqrt(1 - ab) x_0 (Salimans & Ho 2022); x0_hat
// is Tweedie's posterior mean from it. A plugin supplies the network.
#pragma once

#include <ATen/core/Tensor.h>

#include <memory>
#include <string>

#include "svdd/diffusion_model.hpp"
#include "svdd/export.hpp"
#include "svdd/params.hpp"

namespace svdd {

class SVDD_API GaussianDenoiser {
 public:
  virtual ~GaussianDenoiser();
  // x_t [B, ...] float32 and the training timestep t [B] float32 in
  // [1, N] -> the prediction [B, ...] float32 (noise epsilon, x_0 or v, as
  // the model's prediction says), on x_t's device.
  virtual at::Tensor predict(const at::Tensor& x_t, const at::Tensor& t) = 0;
};

struct GaussianDiffusionOptions {
  int train_steps = 1000;  // N
  int steps = 50;          // sampling steps T (<= N)
  double eta = 1.0;        // DDIM stochasticity
  // "linear", "scaled_linear", "cosine" (or its diffusers name
  // "squaredcos_cap_v2"); ignored when alphas_cumprod is given.
  std::string schedule = "linear";
  double beta_start = 1e-4;
  double beta_end = 0.02;
  // The training alpha-bar at timesteps 1..N (diffusers'
  // scheduler.alphas_cumprod, N values), or empty: the schedule's.
  std::vector<double> alphas_cumprod;
  std::string prediction = "epsilon";  // "epsilon", "x0" or "v"
  double clip_x0 = 0.0;                // clamp x0_hat to [-clip, clip] when > 0
  int64_t chunk_rows = 4096;
  std::string device = "cpu";
};

// The [model] keys of a Gaussian model that say how its network was trained
// (train_steps, schedule, beta_start, beta_end, prediction) and how it is
// sampled (steps, eta, clip_x0); shared by every Gaussian model's table.
SVDD_API void visit_gaussian_training(ParamVisitor& v, GaussianDiffusionOptions& o);
SVDD_API void visit_gaussian_sampling(ParamVisitor& v, GaussianDiffusionOptions& o);

// The DDPM schedule's cumulative alpha-bar at training timesteps 0..N:
// [N + 1] float64 with alpha_bar(0) = 1.
SVDD_API at::Tensor alpha_bar_schedule(const GaussianDiffusionOptions& options);

SVDD_API std::unique_ptr<DiffusionModel> make_gaussian_diffusion(
    Domain domain, std::shared_ptr<GaussianDenoiser> denoiser, GaussianDiffusionOptions options,
    std::shared_ptr<const ExactDistribution> exact = nullptr);

// The training timestep used at sampling step s in [0, T] (0 -> 0).
SVDD_API int ddim_timestep(const GaussianDiffusionOptions& options, int step);

}  // namespace svdd
