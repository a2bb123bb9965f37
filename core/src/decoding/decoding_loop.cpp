// The shared decoding loop and the counting decorators (see decoding_loop.hpp).
#include "svdd/decoding/decoding_loop.hpp"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>
#include <fmt/format.h>

#include <chrono>
#include <optional>

#include "decoding/chunking.hpp"
#include "svdd/error.hpp"

namespace svdd {

Cost& Cost::operator+=(const Cost& o) {
  denoiser_rows += o.denoiser_rows;
  reward_calls += o.reward_calls;
  value_calls += o.value_calls;
  wall_seconds += o.wall_seconds;
  return *this;
}

Cost operator-(Cost a, const Cost& b) {
  a.denoiser_rows -= b.denoiser_rows;
  a.reward_calls -= b.reward_calls;
  a.value_calls -= b.value_calls;
  a.wall_seconds -= b.wall_seconds;
  return a;
}

namespace {

class CountedModel final : public DiffusionModel {
 public:
  CountedModel(DiffusionModel& inner, Cost& cost) : inner_(inner), cost_(cost) {}
  const Domain& domain() const override { return inner_.domain(); }
  int num_steps() const override { return inner_.num_steps(); }
  const ExactDistribution* exact() const override { return inner_.exact(); }
  at::Tensor prior(int64_t batch, at::Generator& generator) override {
    return inner_.prior(batch, generator);
  }
  std::unique_ptr<Transition> transition(const at::Tensor& x_t, int step) override {
    cost_.denoiser_rows += x_t.size(0);
    return inner_.transition(x_t, step);
  }

 private:
  DiffusionModel& inner_;
  Cost& cost_;
};

std::string first_decoded(const Samples& samples, int64_t row) {
  try {
    const auto& decoded = samples.decoded();
    if (row < static_cast<int64_t>(decoded.size()) && !decoded[row].empty()) {
      return fmt::format(" (sample {} '{}')", row, decoded[row]);
    }
  } catch (...) {
  }
  return fmt::format(" (sample {})", row);
}

class CountedReward final : public RewardOracle {
 public:
  CountedReward(RewardOracle& inner, const Domain& domain, Cost& cost, int64_t chunk_rows,
                std::string name)
      : inner_(inner),
        domain_(domain),
        cost_(cost),
        chunk_rows_(chunk_rows),
        name_(std::move(name)) {}

  void own(std::unique_ptr<RewardOracle> inner) { owned_ = std::move(inner); }
  bool differentiable() const override { return inner_.differentiable(); }
  double invalid_value() const override { return inner_.invalid_value(); }

  at::Tensor score(const Samples& samples) override {
    const int64_t rows = samples.size();
    cost_.reward_calls += rows;
    return map_row_chunks(rows, chunk_rows_, [&](int64_t b, int64_t e) {
      Samples chunk(samples.tensor().slice(0, b, e), domain_);
      at::Tensor r;
      try {
        r = inner_.score(chunk);
      } catch (const Error& error) {
        throw RuntimeFailure(fmt::format("reward '{}' failed on {} samples{}: {}", name_, e - b,
                                         first_decoded(chunk, 0), error.what()));
      } catch (const std::exception& error) {
        throw RuntimeFailure(fmt::format("reward '{}' threw on {} samples{}: {}", name_, e - b,
                                         first_decoded(chunk, 0), error_message(error)));
      }
      if (!r.defined() || r.dim() != 1 || r.size(0) != e - b) {
        throw RuntimeFailure(
            fmt::format("reward '{}' returned shape {} for {} samples, expected [{}]", name_,
                        r.defined() ? shape_text(r.sizes()) : "none", e - b, e - b));
      }
      // Keep the graph only for a caller that differentiates (DPS).
      r = (at::GradMode::is_enabled() ? r : r.detach()).to(at::kCPU, at::kDouble);
      at::Tensor nan = r.detach().isnan().nonzero();
      if (nan.size(0) > 0) {
        const int64_t row = nan[0][0].item<int64_t>();
        throw RuntimeFailure(
            fmt::format("reward '{}' returned NaN{}; an oracle must return its "
                        "invalid_value() ({}) for invalid samples",
                        name_, first_decoded(chunk, row), inner_.invalid_value()));
      }
      return r;
    });
  }

 private:
  RewardOracle& inner_;
  const Domain& domain_;
  Cost& cost_;
  int64_t chunk_rows_;
  std::string name_;
  std::unique_ptr<RewardOracle> owned_;
};

// Distinct rows of a token batch [N, L] and, for every row, the index of its
// distinct row. Hashes each row to one int64 (at::unique on a vector is far
// faster than at::unique_dim's lexicographic sort), then checks that every
// row equals its representative; on a hash collision it falls back to the
// exact unique_dim.
std::pair<at::Tensor, at::Tensor> unique_rows(const at::Tensor& x) {
  at::Tensor flat = x.reshape({x.size(0), -1}).to(at::kLong);
  at::Tensor hash = at::zeros({flat.size(0)}, flat.options());
  for (int64_t j = 0; j < flat.size(1); ++j) {
    hash = hash.mul(1000003).add(flat.select(1, j)).bitwise_xor(hash.bitwise_right_shift(29));
  }
  auto [keys, inverse, counts] = at::_unique2(hash, /*sorted=*/false, /*return_inverse=*/true,
                                              /*return_counts=*/false);
  // Any row of a key represents it: they are all equal unless hashes collide,
  // which the check below detects.
  at::Tensor representative = at::empty({keys.size(0)}, flat.options())
                                  .index_put_({inverse}, at::arange(flat.size(0), flat.options()));
  at::Tensor unique = x.index_select(0, representative);
  if (unique.index_select(0, inverse).equal(x)) return {unique, inverse};
  auto [exact, exact_inverse, exact_counts] =
      at::unique_dim(x, 0, /*sorted=*/true, /*return_inverse=*/true);
  return {exact, exact_inverse};
}

class LoopContext final : public DecodeContext {
 public:
  LoopContext(DiffusionModel& model, RewardOracle& reward, Cost& cost, at::Generator generator,
              const DecodeOptions& options)
      : model_(model),
        reward_(reward),
        cost_(cost),
        generator_(std::move(generator)),
        chunk_rows_(options.chunk_rows),
        on_report_(options.on_report) {}

  void report(const std::string& name, int step, double value) override {
    if (on_report_) on_report_(name, step, value);
  }

  DiffusionModel& model() override { return model_; }
  at::Generator& generator() override { return generator_; }

  at::Tensor reward(const at::Tensor& x0) override {
    return reward_.score(Samples(x0, model_.domain()));
  }

  at::Tensor value(ValueEstimator& estimator, const at::Tensor& x_s, int step) override {
    at::Tensor rows = x_s;
    std::optional<at::Tensor> inverse;
    if (model_.domain().discrete() && x_s.size(0) > 1) {
      auto [unique, inv] = unique_rows(x_s);
      if (unique.size(0) < x_s.size(0)) {
        rows = unique;
        inverse = inv;
      }
    }
    cost_.value_calls += rows.size(0);
    at::Tensor v = map_row_chunks(rows.size(0), chunk_rows_, [&](int64_t b, int64_t e) {
      at::Tensor out = estimator.value(rows.slice(0, b, e), step, generator_);
      if (!out.defined() || out.dim() != 1 || out.size(0) != e - b) {
        throw RuntimeFailure(fmt::format("value estimator returned a bad shape at step {}", step));
      }
      return out.detach().to(at::kCPU, at::kDouble);
    });
    if (v.isnan().any().item<bool>()) {
      throw RuntimeFailure(fmt::format("value estimator returned NaN at step {}", step));
    }
    return inverse ? v.index_select(0, inverse->to(at::kCPU)) : v;
  }

 private:
  DiffusionModel& model_;
  RewardOracle& reward_;
  Cost& cost_;
  at::Generator generator_;
  int64_t chunk_rows_;
  std::function<void(const std::string&, int, double)> on_report_;
};

}  // namespace

std::unique_ptr<DiffusionModel> counted(DiffusionModel& inner, Cost& cost) {
  return std::make_unique<CountedModel>(inner, cost);
}

std::unique_ptr<RewardOracle> counted(RewardOracle& inner, const Domain& domain, Cost& cost,
                                      int64_t chunk_rows, std::string name) {
  return std::make_unique<CountedReward>(inner, domain, cost, chunk_rows, std::move(name));
}

std::unique_ptr<RewardOracle> counted(std::unique_ptr<RewardOracle> inner, const Domain& domain,
                                      Cost& cost, int64_t chunk_rows, std::string name) {
  auto wrapper = std::make_unique<CountedReward>(*inner, domain, cost, chunk_rows, std::move(name));
  wrapper->own(std::move(inner));
  return wrapper;
}

at::Tensor decode_batch(Method& method, DiffusionModel& model, RewardOracle& reward, Cost& cost,
                        at::Generator generator, const DecodeOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  // Inference mode for speed, unless the method differentiates (DPS); then
  // gradients are off by default and the method turns them on where needed.
  std::optional<c10::InferenceMode> inference;
  std::optional<at::NoGradGuard> no_grad;
  if (options.inference_mode && !method.needs_gradients()) {
    inference.emplace();
  } else {
    no_grad.emplace();
  }

  LoopContext context(model, reward, cost, std::move(generator), options);
  const int64_t particles = options.samples * method.particles_per_sample();
  const int64_t per_parent = method.candidates_per_particle();
  const int steps = model.num_steps();

  method.begin_batch(particles);
  at::Tensor x = model.prior(particles, context.generator());
  for (int t = steps; t >= 1; --t) {
    auto transition = model.transition(x, t);
    at::Tensor children = method.propose(*transition, x, t, context);
    if (children.size(0) != particles * per_parent) {
      throw RuntimeFailure(fmt::format("method proposed {} candidates at step {}, expected {}",
                                       children.size(0), t, particles * per_parent));
    }
    at::Tensor chosen =
        method.select(StepCandidates{t, x, *transition, children, per_parent}, context);
    if (chosen.dim() != 1 || chosen.size(0) != particles) {
      throw RuntimeFailure(fmt::format("method selected {} particles at step {}, expected {}",
                                       chosen.numel(), t, particles));
    }
    x = children.index_select(0, chosen.to(children.device()));
    if (options.on_step) options.on_step(t, steps);
  }
  at::Tensor samples = method.finish(x, context);
  if (samples.size(0) != options.samples) {
    throw RuntimeFailure(
        fmt::format("method returned {} samples, expected {}", samples.size(0), options.samples));
  }
  cost.wall_seconds +=
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return samples;
}

}  // namespace svdd
