// Private: preparing the runs of an experiment. Every component of every run
// is built before any work, so bad input fails first; models, rewards and
// metrics with identical effective tables are built once and shared. A
// method that matches another run's compute (match_compute_of) is rebuilt
// once that run has finished.
#pragma once

#include <ATen/core/Tensor.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "run/result_files.hpp"
#include "svdd/config/experiment.hpp"
#include "svdd/decoding/decoding_loop.hpp"
#include "svdd/registry.hpp"

namespace svdd {

struct PreparedRun {
  const RunPlan* plan = nullptr;
  size_t index = 0;  // position in the experiment's run order
  BuildContext build;
  std::shared_ptr<DiffusionModel> model;
  std::shared_ptr<RewardOracle> reward;
  std::vector<std::pair<std::string, std::shared_ptr<RewardOracle>>> evals;
  std::vector<std::pair<std::string, std::shared_ptr<SampleSetMetric>>> metrics;
  Cost cost;
  std::unique_ptr<DiffusionModel> counted_model;
  std::unique_ptr<RewardOracle> counted_reward;
  std::unique_ptr<Method> method;
  std::optional<at::Tensor> target;  // [bins] target probabilities, toys only
};

using PreparedRuns = std::vector<std::unique_ptr<PreparedRun>>;

// Builds every component of every run of `experiment`.
PreparedRuns prepare(const Experiment& experiment, const Registry& registry);

// Builds (or rebuilds) a run's method. `totals` is null while validating
// before any work; then compute-matched methods get no measurement yet.
void build_method(PreparedRun& run, const PreparedRuns& runs, const Registry& registry,
                  const std::map<std::string, RunTotals>* totals);

// Scores finished samples [B, ...] with an oracle outside the method's
// budget, with the same NaN and exception checks as during decoding:
// [B] float64 CPU.
at::Tensor evaluate(RewardOracle& oracle, const std::string& name, const Domain& domain,
                    const at::Tensor& x, int64_t chunk_rows);

// Toys: the target p_pre(x) exp(r(x)/alpha) / Z aggregated to the model's
// bins, [bins] float64.
at::Tensor target_bins(const ExactDistribution& exact, RewardOracle& reward, const Domain& domain,
                       double alpha, int64_t chunk_rows, const std::string& name);

}  // namespace svdd
