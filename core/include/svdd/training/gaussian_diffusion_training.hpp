// Fitting the denoiser of a Gaussian diffusion model (gaussian_diffusion.hpp)
// with the DDPM objective (Ho et al. 2020, eq. 14, "L_simple"): draw t
// uniformly in [1, N] and noise eps, form x_t = sqrt(ab_t) x_0 +
// sqrt(1 - ab_t) eps, and regress the network's prediction on eps (or on x_0
// for prediction = "x0") by mean squared error. AdamW with a short warm-up
// and cosine decay, gradient clipping, and an exponential moving average of
// the weights (the EMA weights are the ones kept, as in DDPM). A plugin
// supplies the network; every plugin trains its Gaussian models here.
#pragma once

#include <ATen/core/Tensor.h>

#include <cmath>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "svdd/domain.hpp"
#include "svdd/export.hpp"
#include "svdd/families/gaussian_diffusion.hpp"
#include "svdd/params.hpp"
#include "svdd/training/epoch_loop.hpp"

namespace svdd {

// A Gaussian denoiser whose weights can be fitted.
class SVDD_API TrainableGaussianDenoiser : public GaussianDenoiser {
 public:
  // The weights (libtorch tensors that require gradients).
  virtual std::vector<at::Tensor> parameters() const = 0;
  // Training mode (dropout on) or evaluation mode.
  virtual void train(bool on) = 0;
};

struct SVDD_API GaussianTrainingOptions {
  int64_t epochs = 20;
  int64_t batch_size = 128;
  double learning_rate = 2e-3;  // peak, after warm-up; cosine decay to 0
  int64_t warmup_steps = 200;
  double weight_decay = 0.0;
  double ema_decay = 0.999;  // 0: keep the last weights
  int64_t validation_t_points = 10;
  // From the training file's [experiment] table, not from the trainer's.
  int64_t chunk_rows = 4096;
  std::string device = "cpu";
  int64_t seed = 0;  // every random stream derives from it
  // The resume state kept after every epoch (training_state(context) in a
  // trainer; empty: none).
  TrainingState state;

  // epochs, batch_size, learning_rate, warmup_steps, weight_decay,
  // ema_decay, validation_t_points.
  void visit(ParamVisitor& v);
};

struct GaussianTrainingHistory {
  double initial_validation_loss = NAN;  // before the first step
  std::vector<double> train_loss_per_epoch;
  std::vector<double> validation_loss_per_epoch;  // with the EMA weights
  int64_t steps = 0;
  double seconds = 0;
};

// The mean squared error of the prediction on rows x [N, ...] at
// `t_points` evenly spaced timesteps of [1, N_train], with noise seeded by
// `seed` and the row index: the same figure whatever the batching.
SVDD_API double gaussian_validation_loss(TrainableGaussianDenoiser& denoiser, const at::Tensor& x,
                                         const GaussianDiffusionOptions& schedule, int64_t t_points,
                                         int64_t seed, int64_t chunk_rows);

// Trains `denoiser` (already on options.device) on x_train [N, ...] float32
// CPU, reporting the loss on x_val after every epoch, and leaves the EMA
// weights in it. Logs progress.
SVDD_API GaussianTrainingHistory train_gaussian_denoiser(TrainableGaussianDenoiser& denoiser,
                                                         const at::Tensor& x_train,
                                                         const at::Tensor& x_val,
                                                         const GaussianDiffusionOptions& schedule,
                                                         const GaussianTrainingOptions& options);

// `count` samples [count, ...] float32 CPU of the model with `denoiser` and
// the sampling settings in `schedule`, drawn from the random stream
// "samples" of `seed` (the check a trainer writes on its card).
SVDD_API at::Tensor sample_gaussian_diffusion(std::shared_ptr<GaussianDenoiser> denoiser,
                                              const Domain& domain, int64_t count,
                                              const GaussianDiffusionOptions& schedule,
                                              int64_t seed);

}  // namespace svdd
