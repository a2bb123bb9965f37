// Private: summarising a run folder: per-run statistics, the total variation
// to the toys' exact targets, the compute-matched view, and the summary.csv /
// summary.md writers.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "run/prepare.hpp"
#include "run/result_files.hpp"
#include "svdd/decoding/decoding_loop.hpp"

namespace svdd {

struct RunResults {
  std::string method, run;
  std::vector<double> rewards;
  std::vector<std::pair<std::string, std::vector<double>>> evals;  // name -> per sample
  std::vector<std::pair<std::string, double>> metrics;             // [metrics.<name>]
  Cost cost;
  std::optional<double> diversity;  // mean pairwise distance within batches
  std::optional<double> target_distance;
};

double median(std::vector<double> values);
// Linear-interpolated quantile q in [0, 1] (numpy's default).
double quantile(std::vector<double> values, double q);

// Writes summary.csv and summary.md (the table, then `sections` and
// `notes`); returns the Markdown table.
std::string write_summary(const std::filesystem::path& dir, const std::vector<RunResults>& runs,
                          const std::string& sections, const std::string& notes);

// Markdown: each run's reward median at its denoiser rows per sample next to
// best-of-N at the same rows, estimated from the rewards of the pretrained
// run of the same sweep context, `baselines[i]` for runs[i] (null: none).
// The median of the maximum of N draws from the empirical distribution of
// the pretrained rewards is their 0.5^(1/N) quantile.
std::string compute_matched_section(const std::vector<RunResults>& runs,
                                    const std::vector<const RunResults*>& baselines);

// Summarises everything finished so far in a run folder, from its files:
// writes summary.csv, summary.md and the sample grid (when the domain draws
// pictures) and returns the Markdown table. `eval_names` are the evaluation
// rewards, in the order of samples.csv's eval_<name> columns.
std::string summarise(const OutputFiles& files, const PreparedRuns& runs,
                      const std::vector<std::string>& eval_names);

}  // namespace svdd
