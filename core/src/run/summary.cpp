// Summaries: one row per run with reward statistics, evaluation medians, set
// metrics, the distance to the exact target (toys), the compute-matched view
// and the cost counters, computed from a run folder's files.
#include "run/summary.hpp"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <functional>
#include <numeric>
#include <set>

#include "io/file_writing.hpp"
#include "run/sample_grid.hpp"
#include "svdd/error.hpp"
#include "svdd/io/csv.hpp"

namespace svdd {

double quantile(std::vector<double> v, double q) {
  if (v.empty()) return std::nan("");
  std::sort(v.begin(), v.end());
  const double position = q * (v.size() - 1);
  const size_t lo = static_cast<size_t>(std::floor(position));
  const size_t hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (v[hi] - v[lo]) * (position - lo);
}

double median(std::vector<double> values) { return quantile(std::move(values), 0.5); }

namespace {

std::string number(double x) {
  if (std::isnan(x)) return "";
  return fmt::format("{:.6g}", x);
}

// The columns of summary.csv for these runs: the reward's distribution
// (median, quartiles, the mean with its interval, and the top-10% quantile
// that papers on guidance quote), evaluation medians, set metrics,
// diversity, the target distance (toys) and the costs.
struct Columns {
  std::vector<std::string> header, eval_names, metric_names;
  bool has_target = false;
};

Columns summary_columns(const std::vector<RunResults>& runs) {
  Columns c;
  c.header = {"method",     "run",         "samples",         "reward_median",    "reward_q25",
              "reward_q75", "reward_mean", "reward_ci95_low", "reward_ci95_high", "reward_top10"};
  if (!runs.empty()) {
    for (const auto& [name, values] : runs.front().evals) c.eval_names.push_back(name);
    for (const auto& [name, value] : runs.front().metrics) c.metric_names.push_back(name);
  }
  for (const auto& name : c.eval_names) c.header.push_back(fmt::format("eval_{}_median", name));
  for (const auto& name : c.metric_names) c.header.push_back(name);
  c.has_target = std::any_of(runs.begin(), runs.end(),
                             [](const RunResults& r) { return r.target_distance.has_value(); });
  c.header.push_back("diversity");
  if (c.has_target) c.header.push_back("target_distance");
  for (const char* cost : {"denoiser_rows", "reward_calls", "value_calls", "wall_seconds"})
    c.header.push_back(cost);
  return c;
}

template <class Named>
std::string named_cell(const Named& entries, const std::string& name,
                       const std::function<double(const typename Named::value_type&)>& value) {
  auto it = std::find_if(entries.begin(), entries.end(), [&](auto& e) { return e.first == name; });
  return it == entries.end() ? "" : number(value(*it));
}

std::vector<std::string> summary_row(const RunResults& run, const Columns& columns) {
  const auto& r = run.rewards;
  const double n = static_cast<double>(r.size());
  const double mean = r.empty() ? std::nan("") : std::accumulate(r.begin(), r.end(), 0.0) / n;
  double var = 0;
  for (double x : r) var += (x - mean) * (x - mean);
  var = r.size() > 1 ? var / (n - 1) : 0.0;
  // Normal-approximation 95% interval of the mean.
  const double half = 1.959964 * std::sqrt(var / std::max(n, 1.0));
  std::vector<std::string> cells = {run.method,
                                    run.run,
                                    fmt::format("{}", r.size()),
                                    number(median(r)),
                                    number(quantile(r, 0.25)),
                                    number(quantile(r, 0.75)),
                                    number(mean),
                                    number(mean - half),
                                    number(mean + half),
                                    number(quantile(r, 0.9))};
  for (const auto& name : columns.eval_names) {
    cells.push_back(named_cell(run.evals, name, [](const auto& e) { return median(e.second); }));
  }
  for (const auto& name : columns.metric_names) {
    cells.push_back(named_cell(run.metrics, name, [](const auto& m) { return m.second; }));
  }
  cells.push_back(run.diversity ? number(*run.diversity) : "");
  if (columns.has_target) cells.push_back(run.target_distance ? number(*run.target_distance) : "");
  cells.push_back(fmt::format("{}", run.cost.denoiser_rows));
  cells.push_back(fmt::format("{}", run.cost.reward_calls));
  cells.push_back(fmt::format("{}", run.cost.value_calls));
  cells.push_back(fmt::format("{:.3f}", run.cost.wall_seconds));
  return cells;
}

// A Markdown table with aligned widths, so it also reads well in a terminal.
std::string markdown_table(const std::vector<std::string>& header,
                           const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width(header.size());
  for (size_t c = 0; c < header.size(); ++c) {
    width[c] = header[c].size();
    for (const auto& row : rows) width[c] = std::max(width[c], row[c].size());
  }
  auto line = [&](const std::vector<std::string>& cells) {
    std::string out = "|";
    for (size_t c = 0; c < cells.size(); ++c) out += fmt::format(" {:<{}} |", cells[c], width[c]);
    return out + "\n";
  };
  std::string table = line(header);
  std::vector<std::string> rule;
  for (size_t w : width) rule.push_back(std::string(w, '-'));
  table += line(rule);
  for (const auto& row : rows) table += line(row);
  return table;
}

}  // namespace

std::string write_summary(const std::filesystem::path& dir, const std::vector<RunResults>& runs,
                          const std::string& sections, const std::string& notes) {
  const Columns columns = summary_columns(runs);
  std::vector<std::vector<std::string>> rows;
  for (const auto& run : runs) rows.push_back(summary_row(run, columns));

  std::ofstream csv(dir / "summary.csv");
  csv << csv_line(columns.header) << "\n";
  for (const auto& row : rows) csv << csv_line(row) << "\n";
  finish_writing(csv, dir / "summary.csv");

  const std::string table = markdown_table(columns.header, rows);
  std::ofstream md(dir / "summary.md");
  md << "# Summary\n\n" << table << "\n" << sections << notes;
  finish_writing(md, dir / "summary.md");
  return table;
}

std::string compute_matched_section(const std::vector<RunResults>& runs,
                                    const std::vector<const RunResults*>& baselines) {
  std::string out =
      "## Compute-matched view\n\nReward median of each run at its denoiser rows per sample, and "
      "of best-of-N at the same rows: N = rows / (pretrained rows per sample), its median "
      "estimated from the pretrained run's rewards (same model and reward) as their 0.5^(1/N) "
      "quantile.\n\n"
      "| run | denoiser rows per sample | reward_median | N | best-of-N median at these rows |\n"
      "| --- | --- | --- | --- | --- |\n";
  for (size_t i = 0; i < runs.size(); ++i) {
    const RunResults& run = runs[i];
    const RunResults* base = baselines[i];
    if (run.rewards.empty() || !base || base->rewards.empty()) continue;
    const double rows = double(run.cost.denoiser_rows) / double(run.rewards.size());
    const double base_rows = double(base->cost.denoiser_rows) / double(base->rewards.size());
    if (base_rows <= 0) continue;
    const auto n = std::max<int64_t>(1, static_cast<int64_t>(std::floor(rows / base_rows + 1e-9)));
    const double best = quantile(base->rewards, std::pow(0.5, 1.0 / double(n)));
    out += fmt::format("| {} | {:.1f} | {} | {} | {} |\n", run.run, rows,
                       number(median(run.rewards)), n, number(best));
  }
  return out + "\n";
}

namespace {

// Total variation between the empirical bin counts of a run (bin -1: outside
// every bin) and the target probabilities [bins].
double total_variation(const std::map<int64_t, int64_t>& bins, const at::Tensor& target) {
  int64_t count_all = 0;
  for (const auto& [bin, count] : bins) count_all += count;
  at::Tensor empirical = at::zeros_like(target);
  double outside = 0;
  for (const auto& [bin, count] : bins) {
    if (bin < 0) {
      outside += double(count) / count_all;
    } else {
      empirical[bin] = double(count) / count_all;
    }
  }
  return 0.5 * ((empirical - target).abs().sum().item<double>() + outside);
}

// Per run label: the rewards and evaluation scores of samples.csv, and the
// decoded samples.
struct SampleColumns {
  std::map<std::string, RunResults> by_run;
  std::map<std::string, std::vector<std::string>> decoded;
};

SampleColumns read_sample_columns(const std::filesystem::path& samples,
                                  const std::vector<std::string>& eval_names) {
  SampleColumns columns;
  for (const auto& row : read_csv(samples)) {
    auto& r = columns.by_run[row.at("run")];
    columns.decoded[row.at("run")].push_back(row.at("sample"));
    if (r.evals.empty()) {
      for (const auto& name : eval_names) r.evals.emplace_back(name, std::vector<double>{});
    }
    r.rewards.push_back(std::stod(row.at("reward")));
    for (auto& [name, values] : r.evals) values.push_back(std::stod(row.at("eval_" + name)));
  }
  return columns;
}

// Best-of-N at equal compute is read off the pretrained run of the same
// sweep context (same model and reward): for each result, that run's
// results, or null.
std::vector<const RunResults*> pretrained_baselines(
    const std::vector<RunResults>& results, const std::vector<const PreparedRun*>& result_runs) {
  std::vector<const RunResults*> baselines(results.size(), nullptr);
  for (size_t i = 0; i < results.size(); ++i) {
    for (size_t j = 0; j < results.size(); ++j) {
      if (result_runs[j]->plan->method_spec.type == "pretrained" &&
          result_runs[j]->plan->context == result_runs[i]->plan->context) {
        baselines[i] = &results[j];
        break;
      }
    }
  }
  return baselines;
}

const char* const kCostNotes =
    "Costs: denoiser_rows = rows through the denoiser, reward_calls = samples scored by the "
    "reward while guiding (the final scoring is not counted), value_calls = rows scored by a "
    "value estimator; reward_ci95 is the normal-approximation 95% interval of the mean; "
    "reward_top10 is the 90th percentile; diversity is the mean pairwise distance between "
    "samples of the same batch (share of differing tokens, or Euclidean distance, unless the "
    "domain defines its own).\n";

}  // namespace

std::string summarise(const OutputFiles& files, const PreparedRuns& runs,
                      const std::vector<std::string>& eval_names) {
  auto totals = read_totals(files.batches());
  SampleColumns columns = read_sample_columns(files.samples(), eval_names);
  std::vector<RunResults> results;
  std::vector<const PreparedRun*> result_runs;
  std::set<std::string> distance_notes;
  for (const auto& run : runs) {
    const std::string& label = run->plan->label;
    if (!columns.by_run.count(label)) continue;
    RunResults r = std::move(columns.by_run[label]);
    const RunTotals& total = totals[label];
    r.method = run->plan->method;
    r.run = label;
    r.cost = total.cost;
    if (total.diversity_pairs > 0) r.diversity = total.diversity_sum / total.diversity_pairs;
    for (const auto& [name, metric] : run->metrics) {
      r.metrics.emplace_back(name, metric->compute(columns.decoded[label]));
    }
    if (run->target) {
      r.target_distance = total_variation(total.bins, *run->target);
      distance_notes.insert(fmt::format(
          "target_distance ({}): {} between the run's samples and p_pre(x) exp(r(x)/alpha) / Z "
          "with alpha = target_alpha = {}.\n",
          run->model->domain().name, run->model->exact()->distance_name(),
          run->plan->settings.target_alpha));
    }
    results.push_back(std::move(r));
    result_runs.push_back(run.get());
  }
  const auto baselines = pretrained_baselines(results, result_runs);
  const bool any_baseline =
      std::any_of(baselines.begin(), baselines.end(), [](const RunResults* b) { return b; });
  std::string sections = any_baseline ? compute_matched_section(results, baselines) : "";
  // The samples as their domains draw them, one row per run.
  std::vector<std::string> grid_labels;
  std::vector<std::vector<std::string>> grid_rows;
  std::vector<PictureFn> draw;
  for (size_t i = 0; i < results.size(); ++i) {
    grid_labels.push_back(results[i].run);
    grid_rows.push_back(std::move(columns.decoded[results[i].run]));
    draw.push_back(result_runs[i]->model->domain().picture);
  }
  sections += write_samples_grid(files.dir, grid_labels, grid_rows, draw);
  std::string notes;
  for (const auto& note : distance_notes) notes += note;
  return write_summary(files.dir, results, sections, notes + kCostNotes);
}

}  // namespace svdd
