// What the value_network trainer (value_training.hpp) reports on its card:
// losses per epoch, the held-out fit overall and per range of steps, sizes
// and times; written as the card's [results] table and read back from it.
#pragma once

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "svdd/export.hpp"

namespace svdd {

// Held-out figures of the steps first_step..last_step.
struct ValueBucketReport {
  int64_t first_step = 0;
  int64_t last_step = 0;
  int64_t states = 0;
  double correlation = NAN;  // Pearson, predicted value vs realised reward
  double mse = NAN;
};

struct ValueTrainingReport {
  std::filesystem::path checkpoint, card;
  int64_t first_epoch = 0;  // epochs already done before this call (resume)
  int64_t epochs = 0;       // epochs done in all
  // Mean squared errors in reward units. The per-epoch lists cover every
  // epoch, including those of an earlier, resumed call.
  double initial_heldout_loss = NAN;  // before the first epoch
  std::vector<double> train_loss, heldout_loss;
  double heldout_variance = NAN;  // the MSE of predicting the training mean
  // 1-based epoch whose weights were kept (the lowest held-out loss with
  // patience > 0, else the last).
  int64_t best_epoch = 0;
  int64_t warm_started = 0;  // parameters copied from [training] warm_start
  double heldout_correlation = NAN;
  // SVDD-PM's value r(x0_hat(x_t)) on the same held-out states, for reference.
  double posterior_mean_correlation = NAN;
  std::vector<ValueBucketReport> buckets;
  int64_t train_rollouts = 0, heldout_rollouts = 0;
  int64_t train_states = 0, heldout_states = 0;
  double rollout_seconds = 0.0;   // sampling in this call (0 when reloaded)
  double training_seconds = 0.0;  // epochs in this call
};

// The [results] table of a value network's card: the report as TOML text,
// with the network's parameter count.
SVDD_API std::string value_results_toml(int64_t network_parameters,
                                        const ValueTrainingReport& report);

// The report a value network's card holds ([results]), read back; `checkpoint`
// is NAME.pt, the card NAME.card.toml beside it.
SVDD_API ValueTrainingReport read_value_training_report(const std::filesystem::path& checkpoint);

}  // namespace svdd
