// The labelled rollouts SVDD-MC regresses on (see value_rollouts.hpp).
#include "training/value_rollouts.hpp"

#include <torch/torch.h>

#include <chrono>

#include "io/file_writing.hpp"
#include "svdd/trainer.hpp"
#include "svdd/training/epoch_loop.hpp"
#include "svdd/util/log.hpp"
#include "svdd/util/seeding.hpp"
#include "svdd/util/stop_signals.hpp"

namespace svdd {

Rollouts roll_out(DiffusionModel& model, RewardOracle& reward, const RolloutPlan& p, int64_t seed) {
  torch::NoGradGuard no_grad;
  const int steps = model.num_steps();
  const int64_t keep = p.states_per_rollout > 0 ? p.states_per_rollout : steps;
  std::vector<torch::Tensor> states, step_ids, rollout_ids, rewards;
  const auto start = std::chrono::steady_clock::now();
  for (int64_t first = 0, batch = 0; first < p.rollouts; first += p.batch_size, ++batch) {
    // The rollouts are saved only once all are drawn.
    if (const int signal = stop_requested()) {
      throw Stopped(signal, fmt::format("stopped by {} while drawing rollouts: nothing is kept yet",
                                        signal_name(signal)));
    }
    const int64_t n = std::min(p.batch_size, p.rollouts - first);
    at::Generator generator = stream_generator(seed, "rollouts", batch);
    // Which steps of each rollout are kept: `keep` of the T, uniformly.
    torch::Tensor kept;
    if (keep < steps) {
      kept = torch::rand({n, steps}, generator, torch::kDouble).argsort(int64_t{1}).lt(keep);
    }
    torch::Tensor x = model.prior(n, generator);
    const torch::Tensor ids = torch::arange(first, first + n, torch::kLong);
    for (int t = steps; t >= 1; --t) {
      torch::Tensor rows =
          kept.defined() ? kept.select(1, steps - t) : torch::ones({n}, torch::kBool);
      states.push_back(x.index({rows.to(x.device())}).to(torch::kCPU));
      rollout_ids.push_back(ids.index({rows}));
      step_ids.push_back(torch::full({rollout_ids.back().size(0)}, t, torch::kLong));
      x = model.transition(x, t)->sample(1, generator);
    }
    rewards.push_back(reward.score(Samples(x, model.domain())));
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    logger("train")->info("rollouts {}/{}: mean reward {:.4g} ({:.1f} s)", first + n, p.rollouts,
                          rewards.back().mean().item<double>(), seconds);
  }
  return {torch::cat(states), torch::cat(step_ids), torch::cat(rollout_ids), torch::cat(rewards)};
}

void save_rollouts(const Rollouts& r, const std::filesystem::path& file,
                   const std::string& fingerprint) {
  write_atomically(file, [&](const std::filesystem::path& tmp) {
    torch::serialize::OutputArchive archive;
    archive.write("fingerprint", text_tensor(fingerprint));
    archive.write("states", r.states);
    archive.write("steps", r.steps);
    archive.write("rollout", r.rollout);
    archive.write("rewards", r.rewards);
    archive.save_to(tmp.string());
  });
}

std::optional<Rollouts> load_rollouts(const std::filesystem::path& file,
                                      const std::string& fingerprint) {
  if (!std::filesystem::exists(file)) return std::nullopt;
  torch::serialize::InputArchive archive;
  torch::Tensor saved;
  Rollouts r;
  try {
    archive.load_from(file.string());
    archive.read("fingerprint", saved);
    if (tensor_text(saved) != fingerprint) return std::nullopt;
    archive.read("states", r.states);
    archive.read("steps", r.steps);
    archive.read("rollout", r.rollout);
    archive.read("rewards", r.rewards);
  } catch (const c10::Error& e) {
    logger("train")->warn("cannot read saved rollouts {} ({}); sampling them again", file.string(),
                          e.what_without_backtrace());
    return std::nullopt;
  }
  return r;
}

std::pair<Split, Split> split_by_rollout(const Rollouts& rollouts, int64_t count,
                                         int64_t held_rollouts, int64_t seed) {
  torch::Tensor order = torch::randperm(count, stream_generator(seed, "split"), torch::kLong);
  torch::Tensor held_rollout = torch::zeros({count}, torch::kBool);
  held_rollout.index_fill_(0, order.slice(0, 0, held_rollouts), true);
  const torch::Tensor held_state = held_rollout.index_select(0, rollouts.rollout);
  const torch::Tensor state_reward =
      rollouts.rewards.index_select(0, rollouts.rollout).to(torch::kFloat);
  auto split = [&](const torch::Tensor& mask, int64_t rollout_count) {
    torch::Tensor rows = mask.nonzero().squeeze(1);
    return Split{rollouts.states.index_select(0, rows), rollouts.steps.index_select(0, rows),
                 state_reward.index_select(0, rows), rollout_count};
  };
  return {split(held_state.logical_not(), count - held_rollouts), split(held_state, held_rollouts)};
}

}  // namespace svdd
