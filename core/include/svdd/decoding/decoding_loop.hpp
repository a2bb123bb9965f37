// The one decoding loop every method shares (see method.hpp), and the cost
// counters that make comparisons between methods fair.
#pragma once

#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "svdd/diffusion_model.hpp"
#include "svdd/export.hpp"
#include "svdd/method.hpp"
#include "svdd/reward_oracle.hpp"

namespace svdd {

// What a method spent. denoiser_rows: rows passed through the denoiser (one
// per row of every transition, the prior excluded); reward_calls: samples
// scored by the reward; value_calls: rows scored by a value estimator (after
// deduplication).
struct Cost {
  int64_t denoiser_rows = 0;
  int64_t reward_calls = 0;
  int64_t value_calls = 0;
  double wall_seconds = 0.0;

  Cost& operator+=(const Cost& other);
  friend Cost operator-(Cost a, const Cost& b);
};

// Decorators that count into `cost`; `inner` must outlive them. The counted
// reward scores in chunks of `chunk_rows`, converts to [B] float64 CPU and
// turns an exception or a NaN into a RuntimeFailure naming the sample.
SVDD_API std::unique_ptr<DiffusionModel> counted(DiffusionModel& inner, Cost& cost);
SVDD_API std::unique_ptr<RewardOracle> counted(RewardOracle& inner, const Domain& domain,
                                               Cost& cost, int64_t chunk_rows,
                                               std::string name = "reward");
// The same, owning `inner`.
SVDD_API std::unique_ptr<RewardOracle> counted(std::unique_ptr<RewardOracle> inner,
                                               const Domain& domain, Cost& cost, int64_t chunk_rows,
                                               std::string name);

struct DecodeOptions {
  int64_t samples = 1;        // B: samples this batch returns
  int64_t chunk_rows = 4096;  // most rows per value call
  bool inference_mode = true;
  // Called after every step with (t, T); for progress display.
  std::function<void(int, int)> on_step;
  // Receives the method's diagnostics (name, step, value).
  std::function<void(const std::string&, int, double)> on_report;
};

// Runs `method` for one batch and returns its samples [B, ...]. `model` and
// `reward` should be the counted decorators so the method's cost lands in
// `cost`; wall time is added to cost.wall_seconds.
SVDD_API at::Tensor decode_batch(Method& method, DiffusionModel& model, RewardOracle& reward,
                                 Cost& cost, at::Generator generator, const DecodeOptions& options);

}  // namespace svdd
