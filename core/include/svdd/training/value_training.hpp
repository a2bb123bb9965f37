// The trainer "value_network": fits the value network of SVDD-MC (Li et al.
// 2024, arXiv:2408.08252, section 4.2). It rolls out the pretrained model,
// labels every recorded x_t with the reward r(x_0) of the rollout it belongs
// to, splits by rollout (never by state) into training and held-out sets,
// and regresses v_theta(x_t, t) on r(x_0) with Adam and mean squared error.
//
// Its training file is like every other (trainer.hpp): [training] type =
// "value_network" with the model and reward as nested tables
// [training.model] and [training.reward] (as in a run file's [model] and
// [reward]). It writes, beside the checkpoint NAME.pt:
//   NAME.card.toml      what the network was trained for and how well it
//                       predicts held-out rewards (per time bucket)
//   NAME.resume.pt      the epoch loop's state after every epoch
//   NAME.rollouts.pt    the labelled rollouts (so a resume skips sampling)
// Its learning rate is constant, so `epochs` may grow on --resume.
#pragma once

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "svdd/export.hpp"
#include "svdd/registry.hpp"

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
  double heldout_correlation = NAN;
  std::vector<ValueBucketReport> buckets;
  int64_t train_rollouts = 0, heldout_rollouts = 0;
  int64_t train_states = 0, heldout_states = 0;
  double rollout_seconds = 0.0;   // sampling in this call (0 when reloaded)
  double training_seconds = 0.0;  // epochs in this call
};

// The report a value network's card holds ([results]), read back.
SVDD_API ValueTrainingReport read_value_training_report(const std::filesystem::path& checkpoint);

}  // namespace svdd
