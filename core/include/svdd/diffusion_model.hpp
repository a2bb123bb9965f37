// DiffusionModel: a pretrained diffusion model seen as a chain of reverse
// steps x_T -> x_{T-1} -> ... -> x_0. Guidance methods only ever ask it for
// the prior, one step's Transition, and that step's denoised prediction.
#pragma once

#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <memory>
#include <string>

#include "svdd/domain.hpp"
#include "svdd/export.hpp"

namespace svdd {

// The reverse step from one batch x_t [B, ...] at step t.
class SVDD_API Transition {
 public:
  virtual ~Transition();
  // Draws k children of every row from p_pre(x_{t-1} | x_t): [B*k, ...],
  // grouped row-major (the children of row i are rows i*k .. i*k+k-1). Same
  // dtype and device as x_t. All randomness comes from `generator`.
  virtual at::Tensor sample(int64_t k, at::Generator& generator) = 0;
  // The denoised prediction x0_hat(x_t) [B, ...]. Continuous: the posterior
  // mean E[x_0 | x_t] (Tweedie). Discrete: the per-position argmax of the
  // denoiser with unmasked tokens kept, int64.
  virtual at::Tensor x0_hat() = 0;
  // Discrete only: the denoiser's per-position probabilities of x_0,
  // [B, L, V] float32, unmasked positions one-hot. Continuous: undefined tensor.
  virtual at::Tensor x0_probs() { return {}; }
  // Discrete only: like sample(), but masked positions reveal their token
  // from softmax(log x0_probs + log_tilt) (log_tilt [B, L, V] float), the
  // first-order guidance of DPS and classifier guidance on tokens. Throws
  // when the family has no such step.
  virtual at::Tensor sample_tilted(int64_t k, at::Generator& generator, const at::Tensor& log_tilt);
};

// Optional: a model whose pretrained distribution is known exactly (the toy
// domains). Core uses it to compute the guidance target
// p_pre(x) exp(r(x)/alpha) / Z and its distance to a method's samples.
class SVDD_API ExactDistribution {
 public:
  virtual ~ExactDistribution();
  // Points covering the support with their pretrained log-mass, and the bin
  // each belongs to. Discrete toys: every string, one bin each. Continuous
  // toys: the centres of a fine grid, several per bin.
  //   points [K, ...] (the domain's dtype, CPU), log_mass [K] float64,
  //   bin [K] int64 in [0, num_bins()).
  struct Quadrature {
    at::Tensor points, log_mass, bin;
  };
  virtual const Quadrature& quadrature() const = 0;
  virtual int64_t num_bins() const = 0;
  // The bin of each sample [B, ...] -> [B] int64, -1 outside every bin.
  virtual at::Tensor bin_of(const at::Tensor& x0) const = 0;
  // Human description of the distance reported as target_distance.
  virtual std::string distance_name() const = 0;
  // p(x_0 = point k | x_t) at step t: [B, K] float64, rows summing to 1.
  virtual at::Tensor posterior(const at::Tensor& x_t, int step) const = 0;
};

class SVDD_API DiffusionModel {
 public:
  virtual ~DiffusionModel();
  virtual const Domain& domain() const = 0;
  // T: the number of reverse steps. Steps run t = T, T-1, ..., 1.
  virtual int num_steps() const = 0;
  // x_T for `batch` samples: [batch, ...shape] (continuous: Gaussian noise,
  // discrete: all mask tokens).
  virtual at::Tensor prior(int64_t batch, at::Generator& generator) = 0;
  // The reverse step from x_t [B, ...] at step t in [1, T]. x_t at step 0 is
  // clean and has no transition.
  virtual std::unique_ptr<Transition> transition(const at::Tensor& x_t, int step) = 0;
  // The exact pretrained distribution, for toy domains; nullptr otherwise.
  virtual const ExactDistribution* exact() const { return nullptr; }
};

}  // namespace svdd
