// The files of a run folder: appending, resume truncation, the bins format
// (see result_files.hpp).
#include "run/result_files.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <sstream>

#include "io/file_writing.hpp"
#include "svdd/error.hpp"
#include "svdd/io/csv.hpp"
#include "svdd/util/log.hpp"
#include "svdd/version.hpp"

namespace svdd {

AppendCsv::AppendCsv(const std::filesystem::path& file, const std::vector<std::string>& header)
    : file_(file) {
  // A file cut before its header was flushed is as good as new.
  const bool fresh = !std::filesystem::exists(file) || std::filesystem::file_size(file) == 0;
  out_.open(file, std::ios::app);
  if (fresh) out_ << csv_line(header) << "\n" << std::flush;
}

void AppendCsv::row(const std::vector<std::string>& fields) { out_ << csv_line(fields) << "\n"; }

void AppendCsv::flush() { check_flushed(out_, file_); }

const std::vector<std::string> kBatchHeader{
    "run",         "batch",        "samples",       "denoiser_rows",   "reward_calls",
    "value_calls", "wall_seconds", "diversity_sum", "diversity_pairs", "bins"};

bool parse_number(const std::string& text, int64_t& value) {
  const char* end = text.data() + text.size();
  auto [ptr, error] = std::from_chars(text.data(), end, value);
  return error == std::errc() && ptr == end && !text.empty();
}

bool parse_number(const std::string& text, double& value) {
  const char* end = text.data() + text.size();
  auto [ptr, error] = std::from_chars(text.data(), end, value);
  return error == std::errc() && ptr == end && !text.empty();
}

std::vector<FileLine> read_lines(const std::filesystem::path& file, std::string* header) {
  std::vector<FileLine> lines;
  header->clear();
  if (!std::filesystem::exists(file)) return lines;
  std::ifstream in(file);
  if (!in) throw InputError(fmt::format("cannot read {}", file.string()));
  std::getline(in, *header);
  std::string text;
  for (size_t line = 2; std::getline(in, text); ++line) {
    // getline sets eof only when the last line has no newline.
    lines.push_back({text, line, !in.eof()});
  }
  return lines;
}

void rewrite_lines(const std::filesystem::path& file, const std::string& header,
                   const std::vector<std::string>& lines) {
  write_atomically(file, [&](const std::filesystem::path& tmp) {
    std::ofstream out(tmp, std::ios::trunc);
    out << header << "\n";
    for (const auto& line : lines) out << line << "\n";
    finish_writing(out, tmp);
  });
}

std::vector<BatchRecord> read_batch_records(const std::filesystem::path& batches_file,
                                            size_t* cut_line) {
  if (cut_line) *cut_line = 0;
  std::string header;
  const auto lines = read_lines(batches_file, &header);
  std::vector<BatchRecord> records;
  if (header.empty() && lines.empty()) return records;
  auto damaged = [&](size_t line, const std::string& what) {
    return InputError(fmt::format(
        "{}:{}: {}; the file records the finished batches of this folder, so it cannot be "
        "resumed: restore the line or start a new folder",
        batches_file.string(), line, what));
  };
  if (csv_split(header) != kBatchHeader) {
    throw damaged(1, fmt::format("the header is not '{}'", csv_line(kBatchHeader)));
  }
  for (const auto& line : lines) {
    if (!line.whole) {
      if (cut_line) *cut_line = line.line;
      break;  // a batch cut while its line was written did not finish
    }
    const auto f = csv_split(line.text);
    if (f.size() != kBatchHeader.size()) {
      throw damaged(line.line,
                    fmt::format("{} fields instead of {}", f.size(), kBatchHeader.size()));
    }
    BatchRecord r;
    r.run = f[0];
    r.line = line.line;
    const bool numbers =
        parse_number(f[1], r.batch) && parse_number(f[2], r.samples) &&
        parse_number(f[3], r.cost.denoiser_rows) && parse_number(f[4], r.cost.reward_calls) &&
        parse_number(f[5], r.cost.value_calls) && parse_number(f[6], r.cost.wall_seconds) &&
        parse_number(f[7], r.diversity_sum) && parse_number(f[8], r.diversity_pairs);
    if (!numbers || r.run.empty() || r.batch < 0 || r.samples < 1) {
      throw damaged(line.line, "a field is not what svdd writes there");
    }
    try {
      r.bins = parse_bins(f[9]);
    } catch (const std::invalid_argument&) {
      throw damaged(line.line, fmt::format("the bins '{}' are not bin:count pairs", f[9]));
    }
    records.push_back(std::move(r));
  }
  return records;
}

void add_batch_statistics(BatchRecord& record, const Domain& domain, const ExactDistribution* exact,
                          const at::Tensor& x) {
  const int64_t m = x.size(0);
  if (exact) {
    at::Tensor index = exact->bin_of(x);
    for (int64_t i = 0; i < m; ++i) ++record.bins[index[i].item<int64_t>()];
  }
  if (m > 1) record.diversity_sum += domain.pairwise_distances(x, x).triu(1).sum().item<double>();
  record.diversity_pairs += m * (m - 1) / 2;
}

std::vector<std::string> batch_line(const BatchRecord& r) {
  return {r.run,
          std::to_string(r.batch),
          std::to_string(r.samples),
          std::to_string(r.cost.denoiser_rows),
          std::to_string(r.cost.reward_calls),
          std::to_string(r.cost.value_calls),
          fmt::format("{:.6f}", r.cost.wall_seconds),
          fmt::format("{:.9g}", r.diversity_sum),
          std::to_string(r.diversity_pairs),
          bins_text(r.bins)};
}

std::vector<std::string> sample_header(const std::vector<std::string>& eval_names) {
  std::vector<std::string> header{"method", "run", "batch", "index", "sample", "reward"};
  for (const auto& name : eval_names) header.push_back("eval_" + name);
  return header;
}

std::map<std::string, RunTotals> read_totals(const std::filesystem::path& batches_file) {
  std::map<std::string, RunTotals> totals;
  for (const auto& record : read_batch_records(batches_file)) {
    auto& total = totals[record.run];
    total.cost += record.cost;
    total.samples += record.samples;
    total.diversity_sum += record.diversity_sum;
    total.diversity_pairs += record.diversity_pairs;
    for (const auto& [bin, count] : record.bins) total.bins[bin] += count;
  }
  return totals;
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
    int64_t bin = 0, count = 0;
    if (colon == std::string::npos || !parse_number(item.substr(0, colon), bin) ||
        !parse_number(item.substr(colon + 1), count) || count < 0) {
      throw std::invalid_argument(item);
    }
    bins[bin] += count;
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
  finish_writing(config, dir / "config.toml");
}

}  // namespace svdd
