// `svdd report`: figures, report.html and table1 from run folders (see
// report.hpp).
#include "report/report.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <sstream>

#include "io/file_writing.hpp"
#include "report/bootstrap.hpp"
#include "report/figure.hpp"
#include "svdd/error.hpp"
#include "svdd/io/csv.hpp"
#include "svdd/io/png_image.hpp"
#include "svdd/util/log.hpp"

namespace svdd {
namespace {

using report::Box;
using report::Figure;
using report::Plot;
using report::Scale;
using report::Series;

using Row = std::map<std::string, std::string>;

double cell_number(const Row& row, const std::string& column) {
  auto it = row.find(column);
  if (it == row.end() || it->second.empty()) return std::nan("");
  try {
    return std::stod(it->second);
  } catch (const std::exception&) {
    return std::nan("");
  }
}

std::string cell(const Row& row, const std::string& column) {
  auto it = row.find(column);
  return it == row.end() ? "" : it->second;
}

// The label of a run without its [experiment] seeds part: "m[seed=1]" -> "m",
// "m[M=5,seed=1]" -> "m[M=5]".
std::string base_of(const std::string& label) {
  static const std::regex alone(R"(\[seed=-?[0-9]+\]$)"), last(R"(,seed=-?[0-9]+\]$)");
  if (std::regex_search(label, alone)) return std::regex_replace(label, alone, "");
  if (std::regex_search(label, last)) return std::regex_replace(label, last, "]");
  return label;
}

// The sweep values a label names: "m[candidates=5,alpha=0.1]".
std::vector<std::pair<std::string, std::string>> sweep_values(const std::string& label) {
  std::vector<std::pair<std::string, std::string>> values;
  const auto open = label.find('[');
  if (open == std::string::npos || label.back() != ']') return values;
  std::stringstream parts(label.substr(open + 1, label.size() - open - 2));
  std::string part;
  while (std::getline(parts, part, ',')) {
    const auto eq = part.find('=');
    if (eq == std::string::npos) {
      if (!values.empty()) values.back().second += "," + part;  // a value with a comma
      continue;
    }
    values.emplace_back(part.substr(0, eq), part.substr(eq + 1));
  }
  return values;
}

std::vector<std::string> csv_header(const std::filesystem::path& file) {
  std::ifstream in(file);
  std::string line;
  if (!in || !std::getline(in, line)) return {};
  return csv_split(line);
}

struct RunSamples {
  std::vector<double> rewards;
  std::map<std::string, std::vector<double>> evals;
  std::vector<std::string> decoded;
};

// What a report reads of one folder.
struct Folder {
  const ReportSource* source = nullptr;
  std::vector<std::string> eval_names, metric_names;
  std::vector<Row> rows;                      // the rows reported: pooled ones under seeds
  std::map<std::string, RunSamples> samples;  // by reported run label
  std::vector<Row> diagnostics;
  bool pooled = false;
};

Folder read_folder(const ReportSource& source) {
  Folder f;
  f.source = &source;
  const auto summary = source.dir / "summary.csv";
  if (!std::filesystem::exists(summary)) {
    throw InputError(
        fmt::format("svdd report: {} has no summary.csv (not a run folder, or no "
                    "batch has finished yet)",
                    source.dir.string()));
  }
  const auto all_rows = read_csv(summary);
  f.pooled = std::any_of(all_rows.begin(), all_rows.end(),
                         [](const Row& r) { return !cell(r, "seeds").empty(); });
  for (const auto& row : all_rows) {
    if (!f.pooled || !cell(row, "seeds").empty()) f.rows.push_back(row);
  }
  for (const auto& column : csv_header(source.dir / "samples.csv")) {
    if (column.rfind("eval_", 0) == 0) f.eval_names.push_back(column.substr(5));
  }
  for (const auto& [name, metric] : source.metrics) f.metric_names.push_back(name);
  if (std::filesystem::exists(source.dir / "samples.csv")) {
    for (const auto& row : read_csv(source.dir / "samples.csv")) {
      const std::string label = f.pooled ? base_of(cell(row, "run")) : cell(row, "run");
      auto& s = f.samples[label];
      s.rewards.push_back(cell_number(row, "reward"));
      for (const auto& name : f.eval_names) {
        s.evals[name].push_back(cell_number(row, "eval_" + name));
      }
      s.decoded.push_back(cell(row, "sample"));
    }
  }
  if (std::filesystem::exists(source.dir / "diagnostics.csv")) {
    f.diagnostics = read_csv(source.dir / "diagnostics.csv");
  }
  return f;
}

double rows_per_sample(const Row& row) {
  return cell_number(row, "denoiser_rows") / cell_number(row, "samples");
}

// A series per method (in order of first run), built by `add`.
template <class Add>
std::vector<Series> per_method(const Folder& f, Series::Style style, Add&& add) {
  std::vector<Series> series;
  for (const auto& row : f.rows) {
    const std::string method = cell(row, "method");
    auto it = std::find_if(series.begin(), series.end(),
                           [&](const Series& s) { return s.name == method; });
    if (it == series.end()) {
      series.push_back(Series{method, style, {}, {}, {}, {}, {}, false});
      it = series.end() - 1;
    }
    add(*it, row);
  }
  return series;
}

// How many runs each method has here: labels are drawn beside the points
// of swept methods only.
std::map<std::string, int> runs_per_method(const Folder& f) {
  std::map<std::string, int> n;
  for (const auto& row : f.rows) ++n[cell(row, "method")];
  return n;
}

Box box_of(const std::string& label, std::vector<double> values, double ci_low, double ci_high) {
  values.erase(
      std::remove_if(values.begin(), values.end(), [](double v) { return !std::isfinite(v); }),
      values.end());
  Box b;
  b.label = label;
  if (values.empty()) {
    b.whisker_low = b.q25 = b.median = b.q75 = b.whisker_high = std::nan("");
    b.median_low = b.median_high = std::nan("");
    return b;
  }
  std::sort(values.begin(), values.end());
  b.q25 = quantile(values, 0.25);
  b.median = quantile(values, 0.5);
  b.q75 = quantile(values, 0.75);
  // Tukey's whiskers: the most extreme values within 1.5 IQR of the box.
  const double reach = 1.5 * (b.q75 - b.q25);
  b.whisker_low = b.q25;
  b.whisker_high = b.q75;
  for (double v : values) {
    if (v >= b.q25 - reach) b.whisker_low = std::min(b.whisker_low, v);
    if (v <= b.q75 + reach) b.whisker_high = std::max(b.whisker_high, v);
    if ((v < b.q25 - reach || v > b.q75 + reach) && b.outliers.size() < 200)
      b.outliers.push_back(v);
  }
  b.median_low = std::isnan(ci_low) ? b.median : ci_low;
  b.median_high = std::isnan(ci_high) ? b.median : ci_high;
  return b;
}

// `text` with every character but letters, digits, '_' and '-' replaced by
// '_': a file name from a run label, sweep key or experiment name.
std::string file_name_part(std::string text) {
  for (char& c : text) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-') c = '_';
  }
  return text;
}

// Point labels are drawn only for the methods with several runs: a series
// whose labels are all empty draws none.
void drop_empty_labels(std::vector<Series>& series) {
  for (auto& s : series) {
    if (std::all_of(s.labels.begin(), s.labels.end(), [](auto& l) { return l.empty(); }))
      s.labels.clear();
  }
}

struct NamedFigure {
  std::string stem, caption;
  Figure figure;
};

// Reward (and each evaluation reward) per run as boxes, the median's
// bootstrap interval as the band.
void distribution_figures(const Folder& f, std::vector<NamedFigure>& out) {
  std::vector<std::pair<std::string, std::string>> scores{{"reward", "reward"}};
  for (const auto& name : f.eval_names) scores.emplace_back("eval_" + name, name);
  for (const auto& [column, name] : scores) {
    Plot plot;
    plot.title = fmt::format("{}: {} per run", f.source->experiment, name);
    plot.y_label = name;
    for (const auto& row : f.rows) {
      const std::string label = cell(row, "run");
      auto it = f.samples.find(label);
      if (it == f.samples.end()) continue;
      const auto& values = column == "reward" ? it->second.rewards : it->second.evals.at(name);
      plot.x_categories.push_back(label);
      plot.boxes.push_back(box_of(label, values, cell_number(row, column + "_median_ci95_low"),
                                  cell_number(row, column + "_median_ci95_high")));
    }
    out.push_back({column + "_distribution",
                   fmt::format("Distribution of the {} per run: box = quartiles, line = median, "
                               "band = its bootstrap 95% interval, whiskers = 1.5 IQR.",
                               name),
                   plot});
  }
}

// Reward median against denoiser rows per sample, and best-of-N from the
// pretrained rewards at every N: the compute-matched view.
void compute_figure(const Folder& f, std::vector<NamedFigure>& out) {
  Plot plot;
  plot.title = fmt::format("{}: reward against compute", f.source->experiment);
  plot.x_label = "denoiser rows per sample";
  plot.y_label = "reward median (95% CI)";
  plot.x_scale = Scale::log;
  const auto counts = runs_per_method(f);
  double most_rows = 0;
  plot.series = per_method(f, Series::Style::points, [&](Series& s, const Row& row) {
    s.x.push_back(rows_per_sample(row));
    s.y.push_back(cell_number(row, "reward_median"));
    s.y_low.push_back(cell_number(row, "reward_median_ci95_low"));
    s.y_high.push_back(cell_number(row, "reward_median_ci95_high"));
    s.labels.push_back(counts.at(cell(row, "method")) > 1 ? cell(row, "run") : "");
    if (std::isfinite(s.x.back())) most_rows = std::max(most_rows, s.x.back());
  });
  drop_empty_labels(plot.series);
  std::string curve_note;
  for (const auto& row : f.rows) {
    auto type = f.source->method_types.find(cell(row, "method"));
    if (type == f.source->method_types.end() || type->second != "pretrained") continue;
    auto it = f.samples.find(cell(row, "run"));
    const double base = rows_per_sample(row);
    if (it == f.samples.end() || !(base > 0)) break;
    Series curve{
        "best-of-N (from pretrained rewards)", Series::Style::line, {}, {}, {}, {}, {}, true};
    for (double n = 1; n * base <= std::max(most_rows, base) * 1.5;
         n = std::max(n + 1, std::floor(n * 1.3))) {
      curve.x.push_back(n * base);
      curve.y.push_back(quantile(it->second.rewards, std::pow(0.5, 1.0 / n)));
    }
    plot.series.push_back(std::move(curve));
    curve_note = fmt::format(
        " The dashed line is best-of-N at N times the rows of run '{}': the median of the best "
        "of N pretrained rewards, their 0.5^(1/N) quantile.",
        cell(row, "run"));
    break;
  }
  out.push_back({"reward_vs_compute",
                 "Reward median (bootstrap 95% interval) of every run against its denoiser rows "
                 "per sample." +
                     curve_note,
                 plot});
}

// Reorders a series' points by x, so that its line runs left to right.
void sort_by_x(Series& s) {
  std::vector<size_t> order(s.x.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return s.x[a] < s.x[b]; });
  auto permuted = [&](const std::vector<double>& v) {
    if (v.size() != order.size()) return v;
    std::vector<double> out;
    for (size_t i : order) out.push_back(v[i]);
    return out;
  };
  s.x = permuted(s.x);
  s.y = permuted(s.y);
  s.y_low = permuted(s.y_low);
  s.y_high = permuted(s.y_high);
}

// For each swept key, reward median against its value, one line per method
// (and per value of the other keys).
void sweep_figures(const Folder& f, std::vector<NamedFigure>& out) {
  std::vector<std::string> keys;
  std::map<std::string, std::set<std::string>> distinct;
  for (const auto& row : f.rows) {
    for (const auto& [key, value] : sweep_values(cell(row, "run"))) {
      if (!distinct.count(key)) keys.push_back(key);
      distinct[key].insert(value);
    }
  }
  for (const auto& key : keys) {
    if (distinct[key].size() < 2) continue;
    bool numeric = true, positive = true;
    double lo = INFINITY, hi = -INFINITY;
    for (const auto& v : distinct[key]) {
      char* end = nullptr;
      const double x = std::strtod(v.c_str(), &end);
      if (end == v.c_str() || *end != '\0') {
        numeric = false;
        break;
      }
      positive = positive && x > 0;
      lo = std::min(lo, x);
      hi = std::max(hi, x);
    }
    // The reward (left axis) and what it cost, denoiser rows per sample
    // (right axis, dashed, in the reward curve's colour): the compute axis
    // of the paper's ablations, over the same runs.
    Plot plot;
    plot.title = fmt::format("{}: reward median against {}", f.source->experiment, key);
    plot.x_label = key;
    plot.y_label = "reward median (95% CI)";
    plot.y2_label = "denoiser rows per sample (dashed)";
    plot.y2_scale = Scale::log;
    if (!numeric) plot.x_categories.assign(distinct[key].begin(), distinct[key].end());
    if (numeric && positive && hi / lo >= 20) plot.x_scale = Scale::log;
    std::map<std::string, size_t> line_of;
    std::vector<Series> costs;
    for (const auto& row : f.rows) {
      const auto values = sweep_values(cell(row, "run"));
      auto own =
          std::find_if(values.begin(), values.end(), [&](auto& kv) { return kv.first == key; });
      if (own == values.end()) continue;
      std::string name = cell(row, "method");
      for (const auto& [other, value] : values) {
        if (other != key) name += fmt::format(" {}={}", other, value);
      }
      if (!line_of.count(name)) {
        line_of[name] = plot.series.size();
        plot.series.push_back(Series{name, Series::Style::line_points, {}, {}, {}, {}, {}, false});
        Series cost{name + ": rows/sample", Series::Style::line, {}, {}, {}, {}, {}, true};
        cost.right_axis = true;
        cost.colour = int(line_of[name]);
        costs.push_back(std::move(cost));
      }
      const size_t line = line_of[name];
      const double x =
          numeric ? std::stod(own->second)
                  : double(std::distance(distinct[key].begin(), distinct[key].find(own->second)));
      Series& s = plot.series[line];
      s.x.push_back(x);
      s.y.push_back(cell_number(row, "reward_median"));
      s.y_low.push_back(cell_number(row, "reward_median_ci95_low"));
      s.y_high.push_back(cell_number(row, "reward_median_ci95_high"));
      costs[line].x.push_back(x);
      costs[line].y.push_back(rows_per_sample(row));
    }
    for (auto& c : costs) plot.series.push_back(std::move(c));
    for (auto& s : plot.series) sort_by_x(s);
    out.push_back({file_name_part("sweep_" + key),
                   fmt::format("Reward median (bootstrap 95% interval) against the swept key {}, "
                               "one line per method; dashed, on the right axis: the denoiser rows "
                               "per sample each point cost.",
                               key),
                   plot});
  }
}

// Diversity, each set metric and each evaluation median against the reward
// median: what the reward cost in naturalness.
void tradeoff_figures(const Folder& f, std::vector<NamedFigure>& out) {
  std::vector<std::pair<std::string, std::string>> axes{{"diversity", "diversity"}};
  for (const auto& m : f.metric_names) axes.emplace_back(m, m);
  for (const auto& e : f.eval_names) axes.emplace_back("eval_" + e + "_median", e + " median");
  const auto counts = runs_per_method(f);
  for (const auto& [column, name] : axes) {
    Plot plot;
    plot.title = fmt::format("{}: {} against reward", f.source->experiment, name);
    plot.x_label = "reward median";
    plot.y_label = name;
    plot.series = per_method(f, Series::Style::points, [&](Series& s, const Row& row) {
      s.x.push_back(cell_number(row, "reward_median"));
      s.y.push_back(cell_number(row, column));
      s.labels.push_back(counts.at(cell(row, "method")) > 1 ? cell(row, "run") : "");
    });
    drop_empty_labels(plot.series);
    out.push_back({file_name_part(column + "_vs_reward"),
                   fmt::format("{} of every run against its reward median.", name), plot});
  }
}

// Per-step reports of particle methods (ESS fraction, resampling), averaged
// over batches, one line per run.
void diagnostic_figures(const Folder& f, std::vector<NamedFigure>& out) {
  std::vector<std::string> names;
  // name -> run -> step -> (sum, count)
  std::map<std::string, std::map<std::string, std::map<int, std::pair<double, int>>>> sums;
  std::vector<std::string> runs;
  for (const auto& row : f.diagnostics) {
    const std::string name = cell(row, "name");
    const std::string run = f.pooled ? base_of(cell(row, "run")) : cell(row, "run");
    if (!sums.count(name)) names.push_back(name);
    if (std::find(runs.begin(), runs.end(), run) == runs.end()) runs.push_back(run);
    auto& [sum, count] = sums[name][run][std::stoi(cell(row, "step"))];
    sum += cell_number(row, "value");
    ++count;
  }
  for (const auto& name : names) {
    Plot plot;
    plot.title = fmt::format("{}: {} per step", f.source->experiment, name);
    plot.x_label = "step";
    plot.y_label = name + " (mean over batches)";
    for (const auto& run : runs) {
      auto it = sums[name].find(run);
      if (it == sums[name].end()) continue;
      Series s{run, Series::Style::line, {}, {}, {}, {}, {}, false};
      for (const auto& [step, sc] : it->second) {
        s.x.push_back(step);
        s.y.push_back(sc.first / sc.second);
      }
      plot.series.push_back(std::move(s));
    }
    const std::string stem = file_name_part("diagnostic_" + name);
    out.push_back({stem,
                   fmt::format("The methods' per-step report '{}' (diagnostics.csv), averaged "
                               "over batches.",
                               name),
                   plot});
  }
}

// Pictures of the best samples of each run, drawn by the domain.
void picture_figure(const Folder& f, std::vector<NamedFigure>& out) {
  const Domain* domain = f.source->domain;
  if (!domain || !domain->picture) return;
  constexpr size_t kTop = 6;
  report::PictureGrid grid;
  grid.title =
      fmt::format("{}: the {} highest-reward samples of each run", f.source->experiment, kTop);
  for (const auto& row : f.rows) {
    auto it = f.samples.find(cell(row, "run"));
    if (it == f.samples.end()) continue;
    const RunSamples& s = it->second;
    std::vector<size_t> order(s.rewards.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
      const double ra = std::isnan(s.rewards[a]) ? -INFINITY : s.rewards[a];
      const double rb = std::isnan(s.rewards[b]) ? -INFINITY : s.rewards[b];
      return ra > rb;
    });
    std::vector<report::PictureCell> cells;
    std::set<std::string> shown;
    for (size_t i : order) {
      if (cells.size() == kTop) break;
      if (!shown.insert(s.decoded[i]).second) continue;  // one picture per distinct sample
      std::optional<Picture> picture;
      try {
        picture = domain->picture(s.decoded[i]);
      } catch (const Error&) {
      }
      if (picture) cells.push_back({std::move(*picture), fmt::format("{:.4g}", s.rewards[i])});
    }
    if (cells.empty()) continue;
    grid.row_labels.push_back(cell(row, "run"));
    grid.rows.push_back(std::move(cells));
  }
  if (grid.rows.empty()) return;
  out.push_back({"top_samples",
                 "The highest-reward distinct samples of each run, drawn by the domain, with "
                 "their rewards.",
                 grid});
}

// Sequence logos for fixed-length samples of one-letter tokens (DNA, RNA).
void logo_figure(const Folder& f, std::vector<NamedFigure>& out) {
  const Domain* domain = f.source->domain;
  if (!domain || !domain->discrete()) return;
  std::string letters;
  for (int64_t id = 0; id < int64_t(domain->alphabet.size()); ++id) {
    if (id == domain->mask_id) continue;
    if (domain->alphabet[id].size() != 1) return;
    letters += domain->alphabet[id];
  }
  if (letters.empty() || letters.size() > 8) return;
  report::SequenceLogo logo;
  logo.title = fmt::format("{}: sequence logos", f.source->experiment);
  logo.letters = letters;
  for (const auto& row : f.rows) {
    auto it = f.samples.find(cell(row, "run"));
    if (it == f.samples.end() || it->second.decoded.empty()) continue;
    const size_t length = it->second.decoded.front().size();
    std::vector<std::vector<double>> freq(length, std::vector<double>(letters.size(), 0.0));
    std::vector<double> counts(length, 0.0);
    for (const auto& s : it->second.decoded) {
      for (size_t j = 0; j < std::min(length, s.size()); ++j) {
        const auto at = letters.find(s[j]);
        if (at == std::string::npos) continue;
        freq[j][at] += 1;
        counts[j] += 1;
      }
    }
    for (size_t j = 0; j < length; ++j) {
      for (auto& v : freq[j]) v = counts[j] > 0 ? v / counts[j] : 0.0;
    }
    logo.row_labels.push_back(cell(row, "run"));
    logo.frequencies.push_back(std::move(freq));
  }
  if (logo.frequencies.empty()) return;
  out.push_back({"sequence_logo",
                 "Sequence logo of each run's samples: letter heights are frequency times the "
                 "position's information content (bits).",
                 logo});
}

// Each metric's spectrum (e.g. k-mer frequencies) of every run against its
// reference data.
void spectrum_figures(const Folder& f, std::vector<NamedFigure>& out) {
  for (const auto& [name, metric] : f.source->metrics) {
    Plot plot;
    plot.title = fmt::format("{}: {} against the data", f.source->experiment, name);
    std::string what;
    double top = 0;
    for (const auto& row : f.rows) {
      auto it = f.samples.find(cell(row, "run"));
      if (it == f.samples.end()) continue;
      std::optional<Spectrum> s = metric->spectrum(it->second.decoded);
      if (!s) break;
      what = s->what;
      Series series{
          cell(row, "run"), Series::Style::points, s->reference, s->samples, {}, {}, {}, false};
      for (double v : s->reference) top = std::max(top, v);
      for (double v : s->samples) top = std::max(top, v);
      plot.series.push_back(std::move(series));
    }
    if (plot.series.empty()) continue;
    plot.x_label = what + " in the data";
    plot.y_label = what + " in the samples";
    plot.series.push_back(
        Series{"equal", Series::Style::line, {0.0, top}, {0.0, top}, {}, {}, {}, true});
    out.push_back({file_name_part("spectrum_" + name),
                   fmt::format("{} of each run's samples against the reference data of metric "
                               "'{}' (points on the dashed line: as in the data).",
                               what, name),
                   plot});
  }
}

std::string html_escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string short_number(double x) { return std::isnan(x) ? "" : fmt::format("{:.4g}", x); }

// The few columns of a folder's summary, as an HTML table.
std::string summary_html(const Folder& f) {
  std::string html =
      "<table><tr><th>run</th><th>reward median [95% CI]</th><th>top-10% [95% CI]</th>";
  for (const auto& e : f.eval_names) html += "<th>" + html_escape(e) + " median</th>";
  for (const auto& m : f.metric_names) html += "<th>" + html_escape(m) + "</th>";
  html += "<th>diversity</th><th>rows/sample</th>";
  if (f.pooled) html += "<th>seeds</th>";
  html += "</tr>\n";
  for (const auto& row : f.rows) {
    html +=
        fmt::format("<tr><td>{}</td><td>{} [{}, {}]</td><td>{} [{}, {}]</td>",
                    html_escape(cell(row, "run")), short_number(cell_number(row, "reward_median")),
                    short_number(cell_number(row, "reward_median_ci95_low")),
                    short_number(cell_number(row, "reward_median_ci95_high")),
                    short_number(cell_number(row, "reward_top10")),
                    short_number(cell_number(row, "reward_top10_ci95_low")),
                    short_number(cell_number(row, "reward_top10_ci95_high")));
    for (const auto& e : f.eval_names) {
      html += "<td>" + short_number(cell_number(row, "eval_" + e + "_median")) + "</td>";
    }
    for (const auto& m : f.metric_names)
      html += "<td>" + short_number(cell_number(row, m)) + "</td>";
    html += "<td>" + short_number(cell_number(row, "diversity")) + "</td><td>" +
            fmt::format("{:.0f}", rows_per_sample(row)) + "</td>";
    if (f.pooled) html += "<td>" + cell(row, "seeds") + "</td>";
    html += "</tr>\n";
  }
  return html + "</table>\n";
}

const char* const kStyle = R"(<style>
body{font-family:"DejaVu Sans",Arial,sans-serif;margin:24px;max-width:1200px;color:#222}
table{border-collapse:collapse;margin:8px 0 16px;font-size:13px}
td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}
td:first-child,th:first-child{text-align:left}
figure{display:inline-block;margin:8px;vertical-align:top;max-width:100%}
figure img{max-width:100%;border:1px solid #eee}
figcaption{font-size:12px;max-width:720px}
</style>
)";

// Records, once the page has loaded, how many figures it has and how many
// decoded: a headless browser's dump of the page reads them.
const char* const kLoadCheck = R"(<script>
window.addEventListener('load', function () {
  var images = Array.prototype.slice.call(document.images);
  document.body.setAttribute('data-figures', images.length);
  document.body.setAttribute('data-figures-shown', images.filter(function (i) {
    return i.complete && i.naturalWidth > 0; }).length);
});
</script>
)";

// The seed paper's Table 1 (svdd_paper/table1.csv): task -> metric ->
// column -> text of the figure.
using PaperTable = std::map<std::string, std::map<std::string, std::map<std::string, std::string>>>;
const std::vector<std::string> kPaperColumns{"pretrained", "best_of_n", "dps",
                                             "smc",        "svdd",      "svdd_r"};

PaperTable read_paper_table(const std::filesystem::path& file) {
  if (!std::filesystem::exists(file)) {
    throw InputError(
        fmt::format("[report] paper_table: {} does not exist (the data folder is "
                    "$SVDD_DATA_DIR or ../shared/data)",
                    file.string()));
  }
  PaperTable table;
  for (const auto& row : read_csv(file)) {
    for (const auto& column : kPaperColumns) {
      table[cell(row, "task")][cell(row, "metric")][column] = cell(row, column);
    }
  }
  return table;
}

// The paper column a run stands for: [report] paper_methods, else a method
// named like a column; "" for none.
std::string paper_column(const ReportSettings& settings, const std::string& method) {
  for (const auto& entry : settings.paper_methods) {
    const auto eq = entry.find('=');
    if (entry.substr(eq + 1) == method) return entry.substr(0, eq);
  }
  return std::find(kPaperColumns.begin(), kPaperColumns.end(), method) != kPaperColumns.end()
             ? method
             : "";
}

struct TableRow {
  std::string metric;
  bool reward = false;  // the best two of reward rows are bold
  std::vector<double> value, low, high;
  std::vector<std::string> text;  // overrides the number (paper rows)
};

// table1.md and table1.csv of `folders` (see report.hpp).
void write_table1(const std::vector<Folder>& folders, const std::filesystem::path& out,
                  const std::filesystem::path& data_dir) {
  std::optional<PaperTable> paper;
  const auto paper_file = data_dir / "svdd_paper" / "table1.csv";
  std::string md =
      "# Table 1\n\nOne block per experiment: reward and evaluation rows give the median or "
      "top-10% quantile with its percentile-bootstrap 95% interval; the best two runs of each "
      "reward row are in bold.\n\n";
  std::vector<std::vector<std::string>> csv{
      {"experiment", "metric", "run", "method", "value", "ci95_low", "ci95_high", "paper_value"}};
  for (const Folder& f : folders) {
    const ReportSource& source = *f.source;
    std::vector<std::string> runs, methods;
    for (const auto& row : f.rows) {
      runs.push_back(cell(row, "run"));
      methods.push_back(cell(row, "method"));
    }
    std::vector<TableRow> rows;
    auto add = [&](const std::string& metric, const std::string& column, bool reward,
                   bool interval) {
      TableRow r{metric, reward, {}, {}, {}, {}};
      for (const auto& row : f.rows) {
        r.value.push_back(cell_number(row, column));
        r.low.push_back(interval ? cell_number(row, column + "_ci95_low") : std::nan(""));
        r.high.push_back(interval ? cell_number(row, column + "_ci95_high") : std::nan(""));
      }
      rows.push_back(std::move(r));
    };
    add("reward median", "reward_median", true, true);
    add("reward top-10%", "reward_top10", true, true);
    for (const auto& e : f.eval_names) {
      add(e + " median", "eval_" + e + "_median", true, true);
      add(e + " top-10%", "eval_" + e + "_top10", true, true);
    }
    for (const auto& m : f.metric_names) add(m, m, false, false);
    add("diversity", "diversity", false, false);
    {
      TableRow r{"denoiser rows per sample", false, {}, {}, {}, {}};
      for (const auto& row : f.rows) {
        r.value.push_back(rows_per_sample(row));
        r.low.push_back(std::nan(""));
        r.high.push_back(std::nan(""));
      }
      rows.push_back(std::move(r));
    }
    // The paper's figures under the runs that stand for its columns.
    std::map<std::string, std::string> paper_of;  // our metric row -> paper metric
    std::string provenance;
    if (!source.settings.paper_table.empty()) {
      if (!paper) paper = read_paper_table(paper_file);
      auto task = paper->find(source.settings.paper_table);
      if (task == paper->end()) {
        std::vector<std::string> tasks;
        for (const auto& [name, metrics] : *paper) tasks.push_back(name);
        throw InputError(
            fmt::format("[report] paper_table = \"{}\" ({}): {} has no such task "
                        "(tasks: {})",
                        source.settings.paper_table, source.dir.string(), paper_file.string(),
                        fmt::join(tasks, ", ")));
      }
      std::vector<TableRow> paper_rows;
      for (const auto& [metric, columns] : task->second) {
        TableRow r{"paper: " + metric, false, {}, {}, {}, {}};
        bool any = false;
        for (const auto& method : methods) {
          const std::string column = paper_column(source.settings, method);
          auto it = columns.find(column);
          r.text.push_back(it == columns.end() ? "" : it->second);
          any = any || (it != columns.end() && !it->second.empty());
          r.value.push_back(std::nan(""));
          r.low.push_back(std::nan(""));
          r.high.push_back(std::nan(""));
        }
        if (any) paper_rows.push_back(std::move(r));
        const std::string ours = metric == "median"  ? "reward median"
                                 : metric == "top10" ? "reward top-10%"
                                                     : metric + " median";
        paper_of[ours] = metric;
      }
      rows.insert(rows.end(), paper_rows.begin(), paper_rows.end());
      provenance = fmt::format(
          "Paper rows: Li et al. 2024 (arXiv:2408.08252), Table 1, task {}, from {} (their "
          "models and rewards, not these: compare orderings and relative gains).\n\n",
          source.settings.paper_table, "svdd_paper/table1.csv");
    }
    md += fmt::format("## {}\n\n| metric |", source.experiment);
    for (const auto& run : runs) md += " " + run + " |";
    md += "\n| --- |";
    for (size_t i = 0; i < runs.size(); ++i) md += " --- |";
    md += "\n";
    for (const auto& r : rows) {
      std::vector<double> sorted;
      for (double v : r.value) {
        if (std::isfinite(v)) sorted.push_back(v);
      }
      std::sort(sorted.rbegin(), sorted.rend());
      const double second =
          sorted.size() >= 2 ? sorted[1] : (sorted.empty() ? INFINITY : sorted[0]);
      md += "| " + r.metric + " |";
      for (size_t i = 0; i < runs.size(); ++i) {
        std::string text = !r.text.empty() ? r.text[i] : short_number(r.value[i]);
        if (r.text.empty() && std::isfinite(r.low[i])) {
          text += fmt::format(" [{}, {}]", short_number(r.low[i]), short_number(r.high[i]));
        }
        if (r.reward && std::isfinite(r.value[i]) && r.value[i] >= second && !text.empty()) {
          text = "**" + text + "**";
        }
        md += " " + text + " |";
        if (r.text.empty()) {
          std::string paper_value;
          if (auto p = paper_of.find(r.metric); p != paper_of.end() && paper) {
            const auto& columns = paper->at(source.settings.paper_table).at(p->second);
            auto it = columns.find(paper_column(source.settings, methods[i]));
            if (it != columns.end()) paper_value = it->second;
          }
          csv.push_back({source.experiment, r.metric, runs[i], methods[i], short_number(r.value[i]),
                         short_number(r.low[i]), short_number(r.high[i]), paper_value});
        }
      }
      md += "\n";
    }
    md += "\n" + provenance;
  }
  write_file_atomically(out / "table1.md", md);
  std::string csv_text;
  for (const auto& line : csv) csv_text += csv_line(line) + "\n";
  write_file_atomically(out / "table1.csv", csv_text);
}

}  // namespace

ReportFiles write_report(const std::vector<ReportSource>& sources, const std::filesystem::path& out,
                         const std::filesystem::path& data_dir) {
  make_output_folder(out / "figures");
  // Every folder's files are read once, for the figures and table1 alike;
  // a folder that cannot be read fails before anything is written.
  std::vector<Folder> folders;
  for (const auto& source : sources) folders.push_back(read_folder(source));
  ReportFiles files;
  std::string body;
  for (const Folder& folder : folders) {
    const ReportSource& source = *folder.source;
    std::vector<NamedFigure> figures;
    distribution_figures(folder, figures);
    compute_figure(folder, figures);
    sweep_figures(folder, figures);
    tradeoff_figures(folder, figures);
    diagnostic_figures(folder, figures);
    picture_figure(folder, figures);
    logo_figure(folder, figures);
    spectrum_figures(folder, figures);
    body += fmt::format("<h2>{}</h2>\n<p>Run folder: {}{}</p>\n", html_escape(source.experiment),
                        html_escape(source.dir.string()),
                        folder.pooled ? "; rows pool the seeds of [experiment] seeds" : "");
    body += summary_html(folder);
    for (const auto& named : figures) {
      const std::string stem = file_name_part(source.experiment + "_" + named.stem);
      report::Rendered rendered;
      try {
        rendered = report::render(named.figure);
      } catch (const InputError& e) {
        files.notes.push_back(fmt::format("{}: left out ({})", stem, e.what()));
        continue;
      }
      report::write_figure(out / "figures", stem, named.figure);
      ++files.figures;
      body += fmt::format(
          "<figure><img alt=\"{0}\" width=\"{1}\" src=\"data:image/svg+xml;base64,{2}\">"
          "<figcaption>{3} <a href=\"figures/{0}.svg\">SVG</a> · <a "
          "href=\"figures/{0}.png\">PNG</a>"
          " · <a href=\"figures/{0}.csv\">data</a></figcaption></figure>\n",
          stem, rendered.width, base64_encode(rendered.svg), html_escape(named.caption));
    }
  }
  std::string notes;
  for (const auto& note : files.notes) notes += "<li>" + html_escape(note) + "</li>\n";
  const std::string html = fmt::format(
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>svdd report</title>"
      "\n{}</head>\n<body>\n<h1>svdd report</h1>\n<p>Intervals are percentile-bootstrap 95% "
      "intervals ({} resamples). Every figure links its SVG, PNG and the CSV of its numbers.</p>\n"
      "{}{}{}</body></html>\n",
      kStyle, kBootstrapResamples, body,
      notes.empty() ? "" : "<h2>Figures left out</h2><ul>" + notes + "</ul>\n", kLoadCheck);
  write_file_atomically(out / "report.html", html);
  write_table1(folders, out, data_dir);
  return files;
}

}  // namespace svdd
