// Fitting the denoiser of a masked diffusion model (masked_diffusion.hpp)
// with the MDLM objective (Sahoo et al. 2024, eq. 10; masked_diffusion_loss):
// AdamW with a cosine-decayed learning rate, stratified t per batch, and the
// validation bound on held-out rows after every epoch. A plugin supplies
// the network and the token tables; every plugin trains its masked models
// with this one loop.
#pragma once

#include <ATen/core/Tensor.h>

#include <cmath>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "svdd/domain.hpp"
#include "svdd/export.hpp"
#include "svdd/families/masked_diffusion.hpp"
#include "svdd/params.hpp"
#include "svdd/training/epoch_loop.hpp"

namespace svdd {

// A denoiser whose weights can be fitted.
class SVDD_API TrainableMaskedDenoiser : public MaskedDenoiser {
 public:
  // The weights (libtorch tensors that require gradients).
  virtual std::vector<at::Tensor> parameters() const = 0;
  // Training mode (dropout on) or evaluation mode.
  virtual void train(bool on) = 0;
};

struct SVDD_API MaskedTrainingOptions {
  int64_t epochs = 6;
  int64_t batch_size = 128;
  double learning_rate = 2e-3;  // peak; cosine decay to 0
  double weight_decay = 0.0;
  int64_t elbo_t_points = 8;  // quadrature points of the validation bound
  // From the training file's [experiment] table, not from the trainer's.
  int64_t chunk_rows = 4096;
  std::string device = "cpu";
  int64_t seed = 0;  // every random stream derives from it
  // The resume state kept after every epoch (training_state(context) in a
  // trainer; empty: none).
  TrainingState state;

  // The optimisation keys every masked-diffusion trainer's table has:
  // epochs, batch_size, learning_rate, weight_decay, elbo_t_points.
  void visit(ParamVisitor& v);
};

struct MaskedTrainingHistory {
  double initial_validation_nats_per_token = NAN;  // before the first step
  std::vector<double> train_loss_per_epoch;        // the bound, nats per token
  std::vector<double> validation_nats_per_token_per_epoch;
  int64_t steps = 0;
  double seconds = 0;
};

// Minus the mean evidence lower bound per token of the rows x [N, L] int64
// (every token counted, padding included), in evaluation mode, with masks
// seeded by `seed` and the row index.
SVDD_API double masked_validation_nats_per_token(TrainableMaskedDenoiser& denoiser,
                                                 const at::Tensor& x, int64_t mask_id,
                                                 int64_t t_points, int64_t seed,
                                                 int64_t chunk_rows);

// Trains `denoiser` (already on options.device) on x_train [N, L] int64 CPU,
// reporting the bound on x_val [N', L] after every epoch. Logs progress.
SVDD_API MaskedTrainingHistory train_masked_denoiser(TrainableMaskedDenoiser& denoiser,
                                                     const at::Tensor& x_train,
                                                     const at::Tensor& x_val, int64_t mask_id,
                                                     const MaskedTrainingOptions& options);

// `count` samples [count, L] int64 CPU of the masked diffusion model with
// `denoiser` and `steps` reverse steps, drawn from the random stream
// "samples" of `seed` (the check a trainer writes on its card).
SVDD_API at::Tensor sample_masked_diffusion(std::shared_ptr<MaskedDenoiser> denoiser,
                                            const Domain& domain, int64_t count, int steps,
                                            int64_t seed, int64_t chunk_rows,
                                            const std::string& device);

}  // namespace svdd
