// Private: summarising a run folder: per-run statistics, the total variation
// to the toys' exact targets, the compute-matched view, and the summary.csv /
// summary.md writers.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "report/bootstrap.hpp"
#include "run/prepare.hpp"
#include "run/result_files.hpp"
#include "svdd/decoding/decoding_loop.hpp"

namespace svdd {

struct RunResults {
  std::string method, run;
  // Under [experiment] seeds: the label without the seed, and for a row
  // pooling the replicates of one label, how many seeds it pools (0: a row
  // of one run).
  std::string base_label;
  size_t pooled_seeds = 0;
  uint64_t bootstrap_seed = 0;  // seeds the bootstrap intervals of this row
  // Pooled rows: mean and sd over the seeds of the figures in kSeedFigures
  // order (reward_median, reward_top10, eval_<name>_median..., diversity).
  std::vector<std::pair<std::string, MeanSd>> over_seeds;
  std::vector<double> rewards;
  std::vector<std::pair<std::string, std::vector<double>>> evals;  // name -> per sample
  std::vector<std::pair<std::string, double>> metrics;             // [metrics.<name>]
  Cost cost;
  std::optional<double> diversity;  // mean pairwise distance within batches
  std::optional<double> target_distance;
};

// Writes summary.csv and summary.md (the full table, then `sections` and
// `notes`); returns the short table a terminal shows (run, reward median
// with its interval, top-10%, the first evaluation median, diversity, rows
// per sample, time; pooled rows only under seeds).
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

// Writes report.html, figures/ and table1.md/csv into the run folder (see
// report/report.hpp) from its files and the first run's domain and
// metrics. Never throws: a report that cannot be written is a warning, the
// results stay as they are. Returns a line saying where they are (or why
// there is no report).
std::string write_run_report(const OutputFiles& files, const PreparedRuns& runs,
                             const std::string& experiment, const ReportSettings& settings);

}  // namespace svdd
