// Summaries: one row per run with reward statistics, evaluation medians, the
// distance to the exact target (toys) and the cost counters.
#include "run/summary.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <numeric>

#include "io/csv.hpp"
#include "svdd/error.hpp"

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

struct Row {
  std::vector<std::string> cells;
};

}  // namespace

std::string write_summary(const std::filesystem::path& dir, const std::vector<RunResults>& runs,
                          const std::string& sections, const std::string& notes) {
  // The reward's distribution per run: median, quartiles, the mean with its
  // interval, and the top-10% quantile (q0.9) that papers on guidance quote.
  std::vector<std::string> header{
      "method",     "run",         "samples",         "reward_median",    "reward_q25",
      "reward_q75", "reward_mean", "reward_ci95_low", "reward_ci95_high", "reward_top10"};
  std::vector<std::string> eval_names;
  if (!runs.empty()) {
    for (const auto& [name, values] : runs.front().evals) eval_names.push_back(name);
  }
  for (const auto& name : eval_names) header.push_back(fmt::format("eval_{}_median", name));
  std::vector<std::string> metric_names;
  if (!runs.empty()) {
    for (const auto& [name, value] : runs.front().metrics) metric_names.push_back(name);
  }
  for (const auto& name : metric_names) header.push_back(name);
  const bool has_target = std::any_of(
      runs.begin(), runs.end(), [](const RunResults& r) { return r.target_distance.has_value(); });
  header.push_back("diversity");
  if (has_target) header.push_back("target_distance");
  for (const char* c : {"denoiser_rows", "reward_calls", "value_calls", "wall_seconds"})
    header.push_back(c);

  std::vector<Row> rows;
  for (const auto& run : runs) {
    const auto& r = run.rewards;
    const double n = static_cast<double>(r.size());
    const double mean = r.empty() ? std::nan("") : std::accumulate(r.begin(), r.end(), 0.0) / n;
    double var = 0;
    for (double x : r) var += (x - mean) * (x - mean);
    var = r.size() > 1 ? var / (n - 1) : 0.0;
    // Normal-approximation 95% interval of the mean.
    const double half = 1.959964 * std::sqrt(var / std::max(n, 1.0));
    Row row;
    row.cells = {run.method,
                 run.run,
                 fmt::format("{}", r.size()),
                 number(median(r)),
                 number(quantile(r, 0.25)),
                 number(quantile(r, 0.75)),
                 number(mean),
                 number(mean - half),
                 number(mean + half),
                 number(quantile(r, 0.9))};
    for (const auto& name : eval_names) {
      auto it = std::find_if(run.evals.begin(), run.evals.end(),
                             [&](auto& e) { return e.first == name; });
      row.cells.push_back(it == run.evals.end() ? "" : number(median(it->second)));
    }
    for (const auto& name : metric_names) {
      auto it = std::find_if(run.metrics.begin(), run.metrics.end(),
                             [&](auto& m) { return m.first == name; });
      row.cells.push_back(it == run.metrics.end() ? "" : number(it->second));
    }
    row.cells.push_back(run.diversity ? number(*run.diversity) : "");
    if (has_target) row.cells.push_back(run.target_distance ? number(*run.target_distance) : "");
    row.cells.push_back(fmt::format("{}", run.cost.denoiser_rows));
    row.cells.push_back(fmt::format("{}", run.cost.reward_calls));
    row.cells.push_back(fmt::format("{}", run.cost.value_calls));
    row.cells.push_back(fmt::format("{:.3f}", run.cost.wall_seconds));
    rows.push_back(std::move(row));
  }

  std::ofstream csv(dir / "summary.csv");
  csv << csv_line(header) << "\n";
  for (const auto& row : rows) csv << csv_line(row.cells) << "\n";
  if (!csv) throw RuntimeFailure("cannot write " + (dir / "summary.csv").string());

  // Markdown: widths aligned so the table also reads well in a terminal.
  std::vector<size_t> width(header.size());
  for (size_t c = 0; c < header.size(); ++c) {
    width[c] = header[c].size();
    for (const auto& row : rows) width[c] = std::max(width[c], row.cells[c].size());
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
  for (const auto& row : rows) table += line(row.cells);

  std::ofstream md(dir / "summary.md");
  md << "# Summary\n\n" << table << "\n" << sections << notes;
  if (!md) throw RuntimeFailure("cannot write " + (dir / "summary.md").string());
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

}  // namespace svdd
