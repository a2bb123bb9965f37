// The files of a run folder: appending, resume truncation, the bins format
// (see result_files.hpp).
#include "run/result_files.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <sstream>

#include "io/file_writing.hpp"
#include "svdd/error.hpp"
#include "svdd/io/csv.hpp"
#include "svdd/util/log.hpp"
#include "svdd/version.hpp"

namespace svdd {

AppendCsv::AppendCsv(const std::filesystem::path& file, const std::vector<std::string>& header)
    : file_(file) {
  const bool fresh = !std::filesystem::exists(file);
  out_.open(file, std::ios::app);
  if (fresh) out_ << csv_line(header) << "\n" << std::flush;
}

void AppendCsv::row(const std::vector<std::string>& fields) { out_ << csv_line(fields) << "\n"; }

void AppendCsv::flush() {
  out_.flush();
  if (!out_) throw RuntimeFailure("cannot write " + file_.string());
}

const std::vector<std::string> kBatchHeader{
    "run",         "batch",        "samples",       "denoiser_rows",   "reward_calls",
    "value_calls", "wall_seconds", "diversity_sum", "diversity_pairs", "bins"};

std::map<std::string, RunTotals> read_totals(const std::filesystem::path& batches_file) {
  std::map<std::string, RunTotals> totals;
  if (!std::filesystem::exists(batches_file)) return totals;
  for (const auto& row : read_csv(batches_file)) {
    auto& total = totals[row.at("run")];
    total.cost += Cost{std::stoll(row.at("denoiser_rows")), std::stoll(row.at("reward_calls")),
                       std::stoll(row.at("value_calls")), std::stod(row.at("wall_seconds"))};
    total.samples += std::stoll(row.at("samples"));
    total.diversity_sum += std::stod(row.at("diversity_sum"));
    total.diversity_pairs += std::stoll(row.at("diversity_pairs"));
    for (const auto& [bin, count] : parse_bins(row.at("bins"))) total.bins[bin] += count;
  }
  return totals;
}

std::set<std::pair<std::string, int64_t>> finished_batches(
    const std::filesystem::path& batches_file) {
  std::set<std::pair<std::string, int64_t>> finished;
  if (!std::filesystem::exists(batches_file)) return finished;
  for (const auto& row : read_csv(batches_file)) {
    finished.insert({row.at("run"), std::stoll(row.at("batch"))});
  }
  return finished;
}

void truncate_to_finished(const std::filesystem::path& file,
                          const std::set<std::pair<std::string, int64_t>>& finished) {
  if (!std::filesystem::exists(file)) return;
  std::ifstream in(file);
  std::string header, line, kept;
  std::getline(in, header);
  const auto columns = csv_split(header);
  const auto run_col = std::find(columns.begin(), columns.end(), "run") - columns.begin();
  const auto batch_col = std::find(columns.begin(), columns.end(), "batch") - columns.begin();
  size_t dropped = 0;
  while (std::getline(in, line)) {
    const auto f = csv_split(line);
    if (static_cast<long>(f.size()) > std::max(run_col, batch_col) &&
        finished.count({f[run_col], std::stoll(f[batch_col])})) {
      kept += line + "\n";
    } else {
      ++dropped;
    }
  }
  in.close();
  std::ofstream out(file, std::ios::trunc);
  out << header << "\n" << kept;
  if (dropped) {
    logger("run")->info("resume: dropped {} rows of unfinished batches from {}", dropped,
                        file.filename().string());
  }
}

std::string bins_text(const std::map<int64_t, int64_t>& bins) {
  std::string out;
  for (const auto& [bin, count] : bins)
    out += fmt::format("{}{}:{}", out.empty() ? "" : " ", bin, count);
  return out;
}

std::map<int64_t, int64_t> parse_bins(const std::string& text) {
  std::map<int64_t, int64_t> bins;
  std::istringstream in(text);
  std::string item;
  while (in >> item) {
    const auto colon = item.find(':');
    if (colon == std::string::npos) continue;
    bins[std::stoll(item.substr(0, colon))] += std::stoll(item.substr(colon + 1));
  }
  return bins;
}

void write_config(const std::filesystem::path& dir, const Experiment& experiment) {
  std::ofstream config(dir / "config.toml");
  config << fmt::format(
      "# Effective configuration of this run, written by svdd {} (libtorch {}) at {}.\n"
      "# Every component's defaults are filled in. Rerun exactly with\n"
      "#   svdd run {}/config.toml --out <new folder>\n"
      "# Seeds: the generator of batch b of run R is seeded with\n"
      "#   splitmix64(splitmix64(seed ^ splitmix64(fnv1a(R))) + b)\n"
      "# from [experiment] seed = {}.\n\n{}\n",
      version(), torch_version(), utc_now_text(), dir.string(), experiment.settings.seed,
      experiment.effective_toml);
}

}  // namespace svdd
