// The epoch loop every trainer runs: a fresh shuffle of the training rows
// per epoch from the random stream ("epoch", e) of the seed, batches of
// `batch_size` rows, a learning rate under linear warm-up and cosine decay
// (or constant), gradient clipping, an optional exponential moving average
// of the weights, timing and progress lines, and after every epoch a resume
// state beside the checkpoint:
//   NAME.resume.pt   fingerprint, epoch, gradient step, weights, optimiser
//                    state, EMA, the default CPU (and CUDA) generators'
//                    states and the trainer's kept history
// so `svdd train --resume` after the last finished epoch reproduces an
// uninterrupted run bit for bit. A trainer supplies the loss of a batch and
// what happens after each epoch (validation, early stopping); the loop owns
// the rest.
#pragma once

#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "svdd/export.hpp"

namespace torch::optim {
class Optimizer;
}

namespace svdd {

struct TrainContext;

// Where a loop keeps its state between epochs, and whether it starts there.
struct TrainingState {
  std::filesystem::path file;    // empty: keep no state (tests, library use)
  bool resume = false;           // start from `file`
  std::string fingerprint;       // TOML text a resumed state must match
  std::string may_change;        // the keys allowed to differ, for the refusal
  int64_t stop_after_epoch = 0;  // throw TrainingStopped after this epoch (0: never)
};

// The state of a `svdd train` run: NAME.resume.pt, its --resume and
// --stop-after, and the fingerprint of context.fingerprint_toml without the
// [training] keys in `may_change` (e.g. epochs, when the schedule does not
// depend on them), followed by `extra` (TOML text of what else must match).
SVDD_API TrainingState training_state(const TrainContext& context,
                                      const std::vector<std::string>& may_change = {},
                                      const std::string& extra = "");

// Refuses (InputError) a resume whose saved state is missing, unreadable
// or of another configuration, naming the first key that differs; does
// nothing when not resuming. EpochLoop::restore checks the same; a trainer
// with costly work before its loop (sampling rollouts) calls this first.
SVDD_API void check_training_state(const TrainingState& state);

struct EpochLoopOptions {
  int64_t epochs = 1;
  int64_t batch_size = 1;       // rows per gradient step
  double learning_rate = 1e-3;  // peak
  bool cosine = true;           // decay to 0 over all steps; false: constant
  int64_t warmup_steps = 0;     // linear warm-up of the peak
  double clip_norm = 0.0;       // of the joint gradient norm; 0: none
  double ema_decay = 0.0;       // 0: no moving average
  int64_t log_every = 0;        // steps between progress lines; 0: none
  std::string loss_unit;        // appended to losses in progress lines
  int64_t seed = 0;             // the shuffles' random streams derive from it
};

struct EpochEnd {
  std::string log;    // appended to the epoch's log line
  bool stop = false;  // end training after this epoch (early stopping)
};

struct EpochLoopHooks {
  // Training (true) or evaluation mode of the network; called with true
  // before each epoch.
  std::function<void(bool)> train_mode;
  // The mean loss of the batch of training rows `rows` [B] int64 CPU,
  // drawing any randomness from `generator` (the epoch's stream).
  std::function<at::Tensor(const at::Tensor& rows, at::Generator& generator)> batch_loss;
  // After epoch `epoch` (0-based) with the mean training loss over its rows.
  std::function<EpochEnd(int64_t epoch, double train_loss)> end_epoch;
};

struct EpochLoopResult {
  int64_t first_epoch = 0;  // epochs done before this call (resume)
  int64_t epochs = 0;       // epochs done in all
  int64_t steps = 0;        // gradient steps in all
  double seconds = 0;       // in this call
};

class SVDD_API EpochLoop {
 public:
  // `weights` are the network's parameters, as `optimizer` holds them;
  // `rows` the number of training rows.
  EpochLoop(EpochLoopOptions options, TrainingState state, std::vector<at::Tensor> weights,
            torch::optim::Optimizer& optimizer, int64_t rows);
  ~EpochLoop();

  // History saved with the state and restored on resume, under a name.
  void keep(const std::string& name, std::vector<double>& series);
  void keep(const std::string& name, double& value);
  void keep(const std::string& name, int64_t& value);
  // Tensors replaced by the saved ones on resume (e.g. the best weights).
  void keep(const std::string& name, std::vector<at::Tensor>& tensors);
  // The network's buffers (batch-norm statistics), copied back in place.
  void keep_buffers(std::vector<at::Tensor> buffers);

  // Restores the saved state when resuming (refusing another configuration
  // by naming the first differing key) and returns the epochs done.
  // Call after every keep(); run() calls it when it was not called.
  int64_t restore();
  EpochLoopResult run(const EpochLoopHooks& hooks);

  // Runs `f` with the averaged weights in the network (no average: as is).
  void with_average(const std::function<void()>& f);
  // Leaves the averaged weights in the network, as the trained ones.
  void use_average();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// A text as a uint8 tensor and back: how state files (NAME.resume.pt,
// NAME.rollouts.pt) store the fingerprint of the configuration they belong to.
SVDD_API at::Tensor text_tensor(const std::string& text);
SVDD_API std::string tensor_text(const at::Tensor& bytes);

}  // namespace svdd
