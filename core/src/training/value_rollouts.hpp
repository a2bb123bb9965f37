// Private: the data SVDD-MC value training regresses on (value_training.cpp):
// pretrained rollouts, every recorded state x_t labelled with the reward
// r(x_0) of the rollout it belongs to, or with the soft value of several
// continuations from it; their file beside the checkpoint (NAME.rollouts.pt),
// so a resumed training skips the sampling; and the split into training and
// held-out rollouts.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>

#include "svdd/diffusion_model.hpp"
#include "svdd/export.hpp"
#include "svdd/reward_oracle.hpp"

namespace svdd {

// Every recorded state with its step, its rollout and that rollout's reward.
struct Rollouts {
  at::Tensor states;   // [N, ...] the domain's dtype, CPU
  at::Tensor steps;    // [N] int64 in [1, T]
  at::Tensor rollout;  // [N] int64
  at::Tensor rewards;  // [R] float64: r(x_0) of each rollout
  // [N] float64: each state's regression target: the reward of its rollout,
  // or (label_with_continuations) the soft value of K rollouts from it.
  at::Tensor labels;
};

struct RolloutPlan {
  int64_t rollouts = 0;            // pretrained rollouts to sample
  int64_t batch_size = 1;          // rollouts sampled together
  int64_t states_per_rollout = 0;  // states kept per rollout; 0 keeps all T
};

// Samples the rollouts; batch b draws from the stream ("rollouts", b) of
// `seed`, so the rollouts do not depend on the batch order.
SVDD_API Rollouts roll_out(DiffusionModel& model, RewardOracle& reward, const RolloutPlan& plan,
                           int64_t seed);

// Soft-value labels: each state x_t of `rows` ([n] int64 indices into the
// states) is continued K - 1 more times from x_t to x_0 with the pretrained
// transitions (step t's continuations draw from the streams ("labels/t", c)
// of `seed`, c counting chunks of `batch_size` rows) and labelled with
//   alpha = 0:  the mean of the K rewards (its own rollout's and the K - 1 new),
//               a Monte Carlo estimate of E[r(x_0) | x_t] with 1/K the variance
//               of one rollout's reward;
//   alpha > 0:  alpha * log mean_k exp(r_k / alpha), the soft value
//               alpha * log E[exp(r(x_0) / alpha) | x_t] (biased low for finite K).
// A state at step t costs (K - 1) * t denoiser rows and K - 1 reward calls.
struct LabelPlan {
  int64_t rollouts = 1;  // K, including the state's own rollout
  double alpha = 0.0;
  int64_t batch_size = 1;      // continuation rows sampled together
  std::string device = "cpu";  // the model's
};
SVDD_API void label_with_continuations(DiffusionModel& model, RewardOracle& reward,
                                       Rollouts& rollouts, const at::Tensor& rows,
                                       const LabelPlan& plan, int64_t seed);

// Writes the rollouts with `fingerprint` (the configuration they belong to),
// atomically.
void save_rollouts(const Rollouts& rollouts, const std::filesystem::path& file,
                   const std::string& fingerprint);

// The saved rollouts of this configuration, or none (no file, another
// fingerprint, or a file that does not read: logged).
std::optional<Rollouts> load_rollouts(const std::filesystem::path& file,
                                      const std::string& fingerprint);

// The states of some rollouts as regression data: x_t, t and their target
// (training: the label; held out: the reward of the state's own rollout, so
// the held-out loss and correlation measure against the realised reward
// whatever the labels).
struct Split {
  at::Tensor x, steps, target;  // CPU; target float32
  int64_t rollouts = 0;
  int64_t size() const { return x.size(0); }
};

// Which of `count` rollouts are held out ([count] bool): held_rollouts of
// them, drawn with the stream ("split") of `seed`.
at::Tensor heldout_rollout_mask(int64_t count, int64_t held_rollouts, int64_t seed);

// Splits the rollouts by rollout, never by state, by heldout_rollout_mask:
// the held-out ones go with all their states. Returns {training, held out}.
std::pair<Split, Split> split_by_rollout(const Rollouts& rollouts, int64_t count,
                                         int64_t held_rollouts, int64_t seed);

}  // namespace svdd
