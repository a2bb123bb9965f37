// Method: a guidance or sampling algorithm. A method owns no model and no
// reward; core's one decoding loop (decoding_loop.hpp) drives every method:
//
//   x = model.prior(B * particles_per_sample())
//   for t = T .. 1:
//     children = propose(transition(x, t), M = candidates_per_particle())
//     x = children[select(children)]            // one child per particle
//   samples = finish(x)                         // B samples
//
// Methods differ only in propose (default: the pretrained step), select
// (default: keep every particle) and finish (default: the particles).
#pragma once

#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>

#include "svdd/diffusion_model.hpp"
#include "svdd/export.hpp"
#include "svdd/value_estimator.hpp"

namespace svdd {

// What the loop lends a method during one batch. Everything a method calls
// through it is counted (denoiser rows, reward and value evaluations).
class SVDD_API DecodeContext {
 public:
  virtual ~DecodeContext();
  virtual DiffusionModel& model() = 0;
  // r(x_0) for clean samples [B, ...] -> [B] float64 CPU. Chunked and counted.
  virtual at::Tensor reward(const at::Tensor& x0) = 0;
  // v(x_s) by `estimator` -> [B] float64 CPU. Identical discrete rows are
  // scored once; rows are chunked; counted.
  virtual at::Tensor value(ValueEstimator& estimator, const at::Tensor& x_s, int step) = 0;
  virtual at::Generator& generator() = 0;
  // Records a per-step diagnostic (e.g. SMC's effective sample size); the
  // runner writes them to diagnostics.csv.
  virtual void report(const std::string& name, int step, double value) = 0;
};

// The candidates of one step: `children` [P*M, ...] of the P particles
// `parents` [P, ...] at step t, grouped row-major by parent. `transition` is
// the step's Transition of `parents`, the one the children were drawn from:
// a method may reuse what the model already computed for it (x0_hat(),
// x0_probs()) instead of asking the model again. All three are lent for the
// call to select only.
struct StepCandidates {
  int step;
  const at::Tensor& parents;
  Transition& transition;
  const at::Tensor& children;
  int64_t per_parent;
};

class SVDD_API Method {
 public:
  virtual ~Method();
  // Particles the loop carries per requested sample (best-of-N: N).
  virtual int64_t particles_per_sample() const { return 1; }
  // Candidates drawn per particle and step (SVDD: M).
  virtual int64_t candidates_per_particle() const { return 1; }
  // Called before each batch with the number of particles P.
  virtual void begin_batch(int64_t /*particles*/) {}
  // Whether the method differentiates through the model or the reward (DPS):
  // then the loop runs without inference mode.
  virtual bool needs_gradients() const { return false; }
  // Draws M children per row of x_t: [P*M, ...]. Default: the pretrained
  // step, transition.sample(M, generator).
  virtual at::Tensor propose(Transition& transition, const at::Tensor& x_t, int step,
                             DecodeContext& context);
  // Picks the next particles: [P] int64 CPU indices into candidates.children.
  // Default: keep every particle, each parent's first child
  // (arange(P) * M; arange(P) with one candidate per particle).
  virtual at::Tensor select(const StepCandidates& candidates, DecodeContext& context);
  // Reduces the final particles [P, ...] to the batch's samples [B, ...].
  virtual at::Tensor finish(const at::Tensor& x0, DecodeContext& /*context*/) { return x0; }
};

}  // namespace svdd
