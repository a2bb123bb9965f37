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
#include "report/report.hpp"
#include "run/sample_grid.hpp"
#include "svdd/error.hpp"
#include "svdd/io/csv.hpp"
#include "svdd/util/log.hpp"
#include "svdd/util/seeding.hpp"

namespace svdd {

namespace {

std::string number(double x) {
  if (std::isnan(x)) return "";
  return fmt::format("{:.6g}", x);
}

// The statistics of one run's values: median and top-10% quantile with
// their bootstrap intervals, seeded by the run label so a summary is the
// same every time it is written.
struct Quantiles {
  double median = 0, top10 = 0;
  Interval median_ci, top10_ci;
};

Quantiles quantiles_of(const std::vector<double>& values, uint64_t seed) {
  const auto ci = bootstrap_quantile_intervals(values, {0.5, 0.9}, seed);
  return {median(values), quantile(values, 0.9), ci[0], ci[1]};
}

// The figures pooled rows report as mean and sd over seeds.
std::vector<std::string> seed_figure_names(const std::vector<std::string>& eval_names) {
  std::vector<std::string> names{"reward_median", "reward_top10"};
  for (const auto& name : eval_names) names.push_back(fmt::format("eval_{}_median", name));
  names.push_back("diversity");
  return names;
}

// The columns of summary.csv for these runs: the reward's distribution
// (median and top-10% quantile, the figures papers on guidance quote, with
// bootstrap intervals; quartiles; mean), each evaluation reward's median
// and top-10% with intervals, set metrics, diversity, the target distance
// (toys), the costs, and under seeds the pooled rows' mean and sd.
struct Columns {
  std::vector<std::string> header, eval_names, metric_names, seed_figures;
  bool has_target = false, has_seeds = false;
};

Columns summary_columns(const std::vector<RunResults>& runs) {
  Columns c;
  c.header = {"method",
              "run",
              "samples",
              "reward_median",
              "reward_median_ci95_low",
              "reward_median_ci95_high",
              "reward_top10",
              "reward_top10_ci95_low",
              "reward_top10_ci95_high",
              "reward_q25",
              "reward_q75",
              "reward_mean"};
  if (!runs.empty()) {
    for (const auto& [name, values] : runs.front().evals) c.eval_names.push_back(name);
    for (const auto& [name, value] : runs.front().metrics) c.metric_names.push_back(name);
  }
  for (const auto& name : c.eval_names) {
    for (const char* figure : {"median", "median_ci95_low", "median_ci95_high", "top10",
                               "top10_ci95_low", "top10_ci95_high"}) {
      c.header.push_back(fmt::format("eval_{}_{}", name, figure));
    }
  }
  for (const auto& name : c.metric_names) c.header.push_back(name);
  c.has_target = std::any_of(runs.begin(), runs.end(),
                             [](const RunResults& r) { return r.target_distance.has_value(); });
  c.header.push_back("diversity");
  if (c.has_target) c.header.push_back("target_distance");
  for (const char* cost : {"denoiser_rows", "reward_calls", "value_calls", "wall_seconds"})
    c.header.push_back(cost);
  c.has_seeds =
      std::any_of(runs.begin(), runs.end(), [](const RunResults& r) { return r.pooled_seeds > 0; });
  if (c.has_seeds) {
    c.header.push_back("seeds");
    c.seed_figures = seed_figure_names(c.eval_names);
    for (const auto& figure : c.seed_figures) {
      c.header.push_back(figure + "_seed_mean");
      c.header.push_back(figure + "_seed_sd");
    }
  }
  return c;
}

template <class Named>
const typename Named::value_type* find_named(const Named& entries, const std::string& name) {
  auto it = std::find_if(entries.begin(), entries.end(), [&](auto& e) { return e.first == name; });
  return it == entries.end() ? nullptr : &*it;
}

// The figures of one row by column name (those seeds are pooled over).
std::map<std::string, double> seed_figures_of(const RunResults& run) {
  std::map<std::string, double> figures{{"reward_median", median(run.rewards)},
                                        {"reward_top10", quantile(run.rewards, 0.9)}};
  for (const auto& [name, values] : run.evals) {
    figures[fmt::format("eval_{}_median", name)] = median(values);
  }
  figures["diversity"] = run.diversity ? *run.diversity : std::nan("");
  return figures;
}

// One row of summary.csv; `q`: the run's reward quantiles (computed once
// for this row and the short table: each is 2,000 resamples).
std::vector<std::string> summary_row(const RunResults& run, const Columns& columns,
                                     const Quantiles& q) {
  const auto& r = run.rewards;
  const double mean = r.empty() ? std::nan("") : mean_sd(r).mean;
  std::vector<std::string> cells = {run.method,
                                    run.run,
                                    fmt::format("{}", r.size()),
                                    number(q.median),
                                    number(q.median_ci.low),
                                    number(q.median_ci.high),
                                    number(q.top10),
                                    number(q.top10_ci.low),
                                    number(q.top10_ci.high),
                                    number(quantile(r, 0.25)),
                                    number(quantile(r, 0.75)),
                                    number(mean)};
  for (const auto& name : columns.eval_names) {
    const auto* eval = find_named(run.evals, name);
    if (!eval) {
      cells.insert(cells.end(), 6, "");
      continue;
    }
    const Quantiles e = quantiles_of(eval->second, run.bootstrap_seed ^ fnv1a("eval_" + name));
    for (double x :
         {e.median, e.median_ci.low, e.median_ci.high, e.top10, e.top10_ci.low, e.top10_ci.high}) {
      cells.push_back(number(x));
    }
  }
  for (const auto& name : columns.metric_names) {
    const auto* metric = find_named(run.metrics, name);
    cells.push_back(metric ? number(metric->second) : "");
  }
  cells.push_back(run.diversity ? number(*run.diversity) : "");
  if (columns.has_target) cells.push_back(run.target_distance ? number(*run.target_distance) : "");
  cells.push_back(fmt::format("{}", run.cost.denoiser_rows));
  cells.push_back(fmt::format("{}", run.cost.reward_calls));
  cells.push_back(fmt::format("{}", run.cost.value_calls));
  cells.push_back(fmt::format("{:.3f}", run.cost.wall_seconds));
  if (columns.has_seeds) {
    cells.push_back(run.pooled_seeds > 0 ? fmt::format("{}", run.pooled_seeds) : "");
    for (const auto& figure : columns.seed_figures) {
      const auto* stats = find_named(run.over_seeds, figure);
      cells.push_back(stats ? number(stats->second.mean) : "");
      cells.push_back(stats ? number(stats->second.sd) : "");
    }
  }
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

std::string with_interval(double x, const Interval& ci) {
  if (std::isnan(x)) return "";
  return fmt::format("{:.4g} [{:.4g}, {:.4g}]", x, ci.low, ci.high);
}

// The few columns a person reads at the end of a run (toys: the distance to
// the exact target too); under seeds, the pooled rows with the sd of the
// median over seeds.
std::string short_table(const std::vector<RunResults>& runs, const Columns& columns,
                        const std::vector<Quantiles>& reward_quantiles) {
  std::vector<std::string> header{"run", "reward median [95% CI]"};
  if (columns.has_seeds) header.push_back("sd over seeds");
  header.push_back("top-10%");
  if (!columns.eval_names.empty()) header.push_back(columns.eval_names.front() + " median");
  header.push_back("diversity");
  if (columns.has_target) header.push_back("to target");
  for (const char* h : {"rows/sample", "time s"}) header.push_back(h);
  std::vector<std::vector<std::string>> rows;
  for (size_t i = 0; i < runs.size(); ++i) {
    const RunResults& run = runs[i];
    if (columns.has_seeds && run.pooled_seeds == 0) continue;
    const Quantiles& q = reward_quantiles[i];
    std::vector<std::string> row{run.run, with_interval(q.median, q.median_ci)};
    if (columns.has_seeds) {
      const auto* stats = find_named(run.over_seeds, "reward_median");
      row.push_back(stats ? fmt::format("{:.3g} ({} seeds)", stats->second.sd, run.pooled_seeds)
                          : "");
    }
    row.push_back(fmt::format("{:.4g}", q.top10));
    if (!columns.eval_names.empty()) {
      const auto* eval = find_named(run.evals, columns.eval_names.front());
      row.push_back(eval ? fmt::format("{:.4g}", median(eval->second)) : "");
    }
    row.push_back(run.diversity ? fmt::format("{:.3g}", *run.diversity) : "");
    if (columns.has_target) {
      row.push_back(run.target_distance ? fmt::format("{:.3g}", *run.target_distance) : "");
    }
    row.push_back(run.rewards.empty() ? ""
                                      : fmt::format("{:.0f}", double(run.cost.denoiser_rows) /
                                                                  double(run.rewards.size())));
    row.push_back(fmt::format("{:.1f}", run.cost.wall_seconds));
    rows.push_back(std::move(row));
  }
  return markdown_table(header, rows);
}

}  // namespace

std::string write_summary(const std::filesystem::path& dir, const std::vector<RunResults>& runs,
                          const std::string& sections, const std::string& notes) {
  const Columns columns = summary_columns(runs);
  std::vector<Quantiles> reward_quantiles;
  std::vector<std::vector<std::string>> rows;
  for (const auto& run : runs) {
    reward_quantiles.push_back(quantiles_of(run.rewards, run.bootstrap_seed));
    rows.push_back(summary_row(run, columns, reward_quantiles.back()));
  }

  std::ofstream csv(dir / "summary.csv");
  csv << csv_line(columns.header) << "\n";
  for (const auto& row : rows) csv << csv_line(row) << "\n";
  finish_writing(csv, dir / "summary.csv");

  const std::string short_view = short_table(runs, columns, reward_quantiles);
  std::ofstream md(dir / "summary.md");
  md << "# Summary\n\n"
     << short_view << "\n## All columns\n\n"
     << markdown_table(columns.header, rows) << "\n"
     << sections << notes;
  finish_writing(md, dir / "summary.md");
  return short_view;
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

const std::string kCostNotes = fmt::format(
    "Costs: denoiser_rows = rows through the denoiser, reward_calls = samples scored by the "
    "reward while guiding (the final scoring is not counted), value_calls = rows scored by a "
    "value estimator; reward_top10 is the 90th percentile; *_ci95_low/high are percentile-"
    "bootstrap 95% intervals ({} resamples, seeded by the run's seed and label); diversity is the "
    "mean "
    "pairwise distance between samples of the same batch (share of differing tokens, or "
    "Euclidean distance, unless the domain defines its own). Under [experiment] seeds, a run "
    "label without [seed=s] pools its seeds' samples; seeds says how many, and *_seed_mean / "
    "*_seed_sd are the mean and standard deviation of that figure over the seeds' own rows.\n",
    kBootstrapResamples);

}  // namespace

namespace {

// One summary row: `samples` (rewards, evaluation scores) of the run label
// `label` of `run` with its totals and decoded samples.
RunResults results_of(const std::string& label, RunResults samples, const RunTotals& total,
                      const PreparedRun& run, const std::vector<std::string>& decoded,
                      std::set<std::string>& distance_notes) {
  RunResults r = std::move(samples);
  r.method = run.plan->method;
  r.run = label;
  r.base_label = run.plan->base_label;
  // From what the samples derive from (not the label): a replicate's row
  // equals the row of a run of its seed alone.
  r.bootstrap_seed = stream_seed(run.plan->settings.seed, run.plan->base_label, 0);
  r.cost = total.cost;
  if (total.diversity_pairs > 0) r.diversity = total.diversity_sum / total.diversity_pairs;
  for (const auto& [name, metric] : run.metrics) {
    r.metrics.emplace_back(name, metric->compute(decoded));
  }
  if (run.target) {
    r.target_distance = total_variation(total.bins, *run.target);
    distance_notes.insert(fmt::format(
        "target_distance ({}): {} between the run's samples and p_pre(x) exp(r(x)/alpha) / Z "
        "with alpha = target_alpha = {}.\n",
        run.model->domain().name, run.model->exact()->distance_name(),
        run.plan->settings.target_alpha));
  }
  return r;
}

// The replicates of one label under [experiment] seeds, pooled: their
// samples and totals together, and each figure's mean and sd over them.
RunResults pooled_results(const std::vector<size_t>& members, const std::vector<RunResults>& rows,
                          const std::vector<const PreparedRun*>& row_runs,
                          std::map<std::string, RunTotals>& totals,
                          std::map<std::string, std::vector<std::string>>& decoded,
                          std::set<std::string>& distance_notes) {
  RunResults samples;
  RunTotals total;
  std::vector<std::string> all_decoded;
  std::map<std::string, std::vector<double>> figures;
  for (const size_t i : members) {
    const RunResults& row = rows[i];
    samples.rewards.insert(samples.rewards.end(), row.rewards.begin(), row.rewards.end());
    if (samples.evals.empty()) {
      for (const auto& [name, values] : row.evals) samples.evals.emplace_back(name, values);
    } else {
      for (size_t e = 0; e < row.evals.size(); ++e) {
        auto& into = samples.evals[e].second;
        into.insert(into.end(), row.evals[e].second.begin(), row.evals[e].second.end());
      }
    }
    const RunTotals& t = totals[row.run];
    total.cost += t.cost;
    total.samples += t.samples;
    total.diversity_sum += t.diversity_sum;
    total.diversity_pairs += t.diversity_pairs;
    for (const auto& [bin, count] : t.bins) total.bins[bin] += count;
    const auto& d = decoded[row.run];
    all_decoded.insert(all_decoded.end(), d.begin(), d.end());
    for (const auto& [name, value] : seed_figures_of(row)) figures[name].push_back(value);
  }
  const PreparedRun& first = *row_runs[members.front()];
  RunResults pooled = results_of(first.plan->base_label, std::move(samples), total, first,
                                 all_decoded, distance_notes);
  pooled.pooled_seeds = members.size();
  pooled.bootstrap_seed = stream_seed(0, "pooled|" + first.plan->base_label, 0);
  for (const auto& name : seed_figure_names([&] {
         std::vector<std::string> names;
         for (const auto& [eval, values] : pooled.evals) names.push_back(eval);
         return names;
       }())) {
    auto values = figures[name];
    values.erase(
        std::remove_if(values.begin(), values.end(), [](double v) { return std::isnan(v); }),
        values.end());
    if (!values.empty()) pooled.over_seeds.emplace_back(name, mean_sd(values));
  }
  return pooled;
}

}  // namespace

std::string summarise(const OutputFiles& files, const PreparedRuns& runs,
                      const std::vector<std::string>& eval_names) {
  auto totals = read_totals(files.batches());
  SampleColumns columns = read_sample_columns(files.samples(), eval_names);
  std::vector<RunResults> results;
  std::vector<const PreparedRun*> result_runs;
  std::set<std::string> distance_notes;
  // Labels with replicates ([experiment] seeds), in order of first run.
  std::vector<std::string> replicated;
  std::map<std::string, std::vector<size_t>> replicates;
  for (const auto& run : runs) {
    const std::string& label = run->plan->label;
    if (!columns.by_run.count(label)) continue;
    if (!run->plan->settings.seeds.empty()) {
      auto& members = replicates[run->plan->base_label];
      if (members.empty()) replicated.push_back(run->plan->base_label);
      members.push_back(results.size());
    }
    results.push_back(results_of(label, std::move(columns.by_run[label]), totals[label], *run,
                                 columns.decoded[label], distance_notes));
    result_runs.push_back(run.get());
  }
  const auto baselines = pretrained_baselines(results, result_runs);
  const bool any_baseline =
      std::any_of(baselines.begin(), baselines.end(), [](const RunResults* b) { return b; });
  std::string sections = any_baseline ? compute_matched_section(results, baselines) : "";
  std::vector<RunResults> rows = results;
  for (const auto& label : replicated) {
    rows.push_back(pooled_results(replicates[label], results, result_runs, totals, columns.decoded,
                                  distance_notes));
  }
  // The samples as their domains draw them, one row per run.
  std::vector<std::string> grid_labels;
  std::vector<std::vector<std::string>> grid_rows;
  std::vector<PictureFn> draw;
  for (size_t i = 0; i < results.size(); ++i) {
    grid_labels.push_back(results[i].run);
    grid_rows.push_back(columns.decoded[results[i].run]);
    draw.push_back(result_runs[i]->model->domain().picture);
  }
  sections += write_samples_grid(files.dir, grid_labels, grid_rows, draw);
  std::string notes;
  for (const auto& note : distance_notes) notes += note;
  return write_summary(files.dir, rows, sections, notes + kCostNotes);
}

std::string write_run_report(const OutputFiles& files, const PreparedRuns& runs,
                             const std::string& experiment, const ReportSettings& settings) {
  try {
    ReportSource source{files.dir, experiment, settings, nullptr, {}, {}};
    for (const auto& run : runs)
      source.method_types[run->plan->method] = run->plan->method_spec.type;
    if (!runs.empty()) {
      source.domain = &runs.front()->model->domain();
      for (const auto& [name, metric] : runs.front()->metrics) {
        source.metrics.emplace_back(name, metric.get());
      }
    }
    const ReportFiles report =
        write_report({source}, files.dir,
                     runs.empty() ? default_data_dir() : runs.front()->plan->settings.data_dir);
    for (const auto& note : report.notes) logger("run")->info("report: {}", note);
    return fmt::format(
        "Full table: {0}/summary.md (summary.csv); report: {0}/report.html ({1} "
        "figures), table1.md",
        files.dir.string(), report.figures);
  } catch (const std::exception& e) {
    logger("run")->warn("no report written: {}", error_message(e));
    return fmt::format("Full table: {}/summary.md (summary.csv); no report: {}", files.dir.string(),
                       error_message(e));
  }
}

}  // namespace svdd
