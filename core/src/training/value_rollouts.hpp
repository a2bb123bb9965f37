// Private: the data SVDD-MC value training regresses on (value_training.cpp):
// pretrained rollouts, every recorded state x_t labelled with the reward
// r(x_0) of the rollout it belongs to; their file beside the checkpoint
// (NAME.rollouts.pt), so a resumed training skips the sampling; and the split
// into training and held-out rollouts.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>

#include "svdd/diffusion_model.hpp"
#include "svdd/reward_oracle.hpp"

namespace svdd {

// Every recorded state with its step, its rollout and that rollout's reward.
struct Rollouts {
  at::Tensor states;   // [N, ...] the domain's dtype, CPU
  at::Tensor steps;    // [N] int64 in [1, T]
  at::Tensor rollout;  // [N] int64
  at::Tensor rewards;  // [R] float64: r(x_0) of each rollout
};

struct RolloutPlan {
  int64_t rollouts = 0;            // pretrained rollouts to sample
  int64_t batch_size = 1;          // rollouts sampled together
  int64_t states_per_rollout = 0;  // states kept per rollout; 0 keeps all T
};

// Samples the rollouts; batch b draws from the stream ("rollouts", b) of
// `seed`, so the rollouts do not depend on the batch order.
Rollouts roll_out(DiffusionModel& model, RewardOracle& reward, const RolloutPlan& plan,
                  int64_t seed);

// Writes the rollouts with `fingerprint` (the configuration they belong to),
// atomically.
void save_rollouts(const Rollouts& rollouts, const std::filesystem::path& file,
                   const std::string& fingerprint);

// The saved rollouts of this configuration, or none (no file, another
// fingerprint, or a file that does not read: logged).
std::optional<Rollouts> load_rollouts(const std::filesystem::path& file,
                                      const std::string& fingerprint);

// The states of some rollouts as regression data: x_t, t and the reward of
// their rollout.
struct Split {
  at::Tensor x, steps, target;  // CPU; target float32
  int64_t rollouts = 0;
  int64_t size() const { return x.size(0); }
};

// Splits `count` rollouts by rollout, never by state, with the stream
// ("split") of `seed`: held_rollouts of them are held out with all their
// states. Returns {training, held out}.
std::pair<Split, Split> split_by_rollout(const Rollouts& rollouts, int64_t count,
                                         int64_t held_rollouts, int64_t seed);

}  // namespace svdd
