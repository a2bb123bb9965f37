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
#include "values/soft_mean.hpp"

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
  Rollouts out{
      torch::cat(states), torch::cat(step_ids), torch::cat(rollout_ids), torch::cat(rewards), {}};
  out.labels = out.rewards.index_select(0, out.rollout);
  return out;
}

void label_with_continuations(DiffusionModel& model, RewardOracle& reward, Rollouts& r,
                              const at::Tensor& rows, const LabelPlan& plan, int64_t seed) {
  if (plan.rollouts <= 1 || rows.numel() == 0) return;
  torch::NoGradGuard no_grad;
  const int64_t extra = plan.rollouts - 1;
  const auto start = std::chrono::steady_clock::now();
  const torch::Tensor row_steps = r.steps.index_select(0, rows);
  int64_t labelled = 0;
  for (int t = model.num_steps(); t >= 1; --t) {
    const torch::Tensor at_t = rows.index_select(0, row_steps.eq(t).nonzero().squeeze(1));
    if (at_t.numel() == 0) continue;
    // Row i * extra + k is the k-th continuation of state at_t[i].
    const torch::Tensor source = at_t.repeat_interleave(extra);
    std::vector<torch::Tensor> rewards;
    for (int64_t first = 0, chunk = 0; first < source.numel(); first += plan.batch_size, ++chunk) {
      if (const int signal = stop_requested()) {
        throw Stopped(signal,
                      fmt::format("stopped by {} while labelling states: nothing is kept yet",
                                  signal_name(signal)));
      }
      const int64_t n = std::min(plan.batch_size, source.numel() - first);
      at::Generator generator = stream_generator(seed, fmt::format("labels/{}", t), chunk);
      torch::Tensor x = r.states.index_select(0, source.slice(0, first, first + n))
                            .to(torch::Device(plan.device));
      for (int s = t; s >= 1; --s) x = model.transition(x, s)->sample(1, generator);
      rewards.push_back(reward.score(Samples(x, model.domain())).to(torch::kCPU, torch::kDouble));
    }
    // [n, K]: the state's own rollout's reward, then its continuations'.
    const torch::Tensor all =
        torch::cat({r.rewards.index_select(0, r.rollout.index_select(0, at_t)).unsqueeze(1),
                    torch::cat(rewards).view({-1, extra})},
                   1);
    const torch::Tensor label = soft_mean(all, plan.alpha);
    r.labels.index_copy_(0, at_t, label);
    // A line per tenth of the states, as the rollouts log per batch.
    const int64_t tenth_before = labelled * 10 / rows.numel();
    labelled += at_t.numel();
    if (labelled * 10 / rows.numel() > tenth_before) {
      logger("train")->info(
          "labels: {}/{} states with {} rollouts each (down to step {}, {:.1f} s)", labelled,
          rows.numel(), plan.rollouts, t,
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }
  }
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
    archive.write("labels", r.labels);
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
  // Files written before labels were saved hold one label per rollout.
  if (!archive.try_read("labels", r.labels)) r.labels = r.rewards.index_select(0, r.rollout);
  return r;
}

at::Tensor heldout_rollout_mask(int64_t count, int64_t held_rollouts, int64_t seed) {
  torch::Tensor order = torch::randperm(count, stream_generator(seed, "split"), torch::kLong);
  torch::Tensor held = torch::zeros({count}, torch::kBool);
  held.index_fill_(0, order.slice(0, 0, held_rollouts), true);
  return held;
}

std::pair<Split, Split> split_by_rollout(const Rollouts& rollouts, int64_t count,
                                         int64_t held_rollouts, int64_t seed) {
  const torch::Tensor held_state =
      heldout_rollout_mask(count, held_rollouts, seed).index_select(0, rollouts.rollout);
  const torch::Tensor realised =
      rollouts.rewards.index_select(0, rollouts.rollout).to(torch::kFloat);
  const torch::Tensor labels = rollouts.labels.to(torch::kFloat);
  auto split = [&](const torch::Tensor& mask, const torch::Tensor& target, int64_t rollout_count) {
    torch::Tensor rows = mask.nonzero().squeeze(1);
    return Split{rollouts.states.index_select(0, rows), rollouts.steps.index_select(0, rows),
                 target.index_select(0, rows), rollout_count};
  };
  return {split(held_state.logical_not(), labels, count - held_rollouts),
          split(held_state, realised, held_rollouts)};
}

}  // namespace svdd
