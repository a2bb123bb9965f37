// What a resume checks before it continues a folder (see resume.hpp).
#include "run/resume.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <sstream>

#include "config/toml_config.hpp"
#include "io/file_writing.hpp"
#include "svdd/error.hpp"
#include "svdd/io/csv.hpp"
#include "svdd/util/log.hpp"

namespace svdd {
namespace {

using BatchKey = std::pair<std::string, int64_t>;

std::filesystem::path started_config_file(const std::filesystem::path& dir) {
  return dir / ".svdd.config.toml";
}

// The samples a batch of a run makes: indices [first, first + count).
struct BatchSpan {
  int64_t first = 0, count = 0;
};

// The batches of every run of `experiment`, by run label.
class BatchPlan {
 public:
  explicit BatchPlan(const Experiment& experiment) {
    for (const auto& run : experiment.runs) settings_[run.label] = &run.settings;
  }
  // The span of batch `batch` of run `run`; count 0 when the configuration
  // makes no such batch.
  BatchSpan span(const std::string& run, int64_t batch) const {
    auto it = settings_.find(run);
    if (it == settings_.end() || batch < 0) return {};
    const auto& s = *it->second;
    if (batch >= (s.samples + s.batch_size - 1) / s.batch_size) return {};
    const int64_t first = batch * s.batch_size;
    return {first, std::min(s.batch_size, s.samples - first)};
  }

 private:
  std::map<std::string, const ExperimentSettings*> settings_;
};

// The finished batches of batches.csv, checked against the plan, by key.
std::map<BatchKey, BatchRecord> recorded_batches(const OutputFiles& files, const BatchPlan& plan) {
  size_t cut_line = 0;
  auto records = read_batch_records(files.batches(), &cut_line);
  if (cut_line) {
    logger("run")->warn("resume: {}:{} was cut while it was written; redoing the batch it records",
                        files.batches().string(), cut_line);
  }
  std::map<BatchKey, BatchRecord> recorded;
  for (auto& record : records) {
    const BatchSpan span = plan.span(record.run, record.batch);
    if (span.count != record.samples) {
      throw InputError(fmt::format(
          "{}:{}: batch {} of run '{}' with {} samples is not one this configuration makes; "
          "the folder cannot be resumed: start a new one",
          files.batches().string(), record.line, record.batch, record.run, record.samples));
    }
    const size_t line = record.line;
    auto [it, fresh] = recorded.emplace(BatchKey{record.run, record.batch}, std::move(record));
    if (!fresh) {
      throw InputError(fmt::format(
          "{}:{}: batch {} of run '{}' is recorded twice (also on line {}); the folder cannot be "
          "resumed: start a new one",
          files.batches().string(), line, it->first.second, it->first.first, it->second.line));
    }
  }
  return recorded;
}

// The sample rows of one finished batch, as found in samples.csv.
struct BatchRows {
  std::set<int64_t> indices;
  std::vector<std::string> problems;  // "line 12: ..." for rows that are not whole
};

// Reads samples.csv: the rows of recorded batches, checked, and the texts
// of the rows to keep (of recorded batches, in file order).
std::map<BatchKey, BatchRows> read_sample_rows(const OutputFiles& files,
                                               const std::map<BatchKey, BatchRecord>& recorded,
                                               const BatchPlan& plan,
                                               const std::vector<std::string>& sample_header,
                                               std::vector<std::pair<BatchKey, std::string>>& kept,
                                               size_t& dropped) {
  const auto file = files.samples();
  std::string header;
  const auto lines = read_lines(file, &header);
  if (!header.empty() && csv_split(header) != sample_header) {
    throw InputError(fmt::format(
        "{}:1: the header is not '{}', the one this configuration writes; the folder cannot be "
        "resumed: restore the header or start a new folder",
        file.string(), csv_line(sample_header)));
  }
  std::map<BatchKey, BatchRows> rows;
  for (const auto& line : lines) {
    if (!line.whole) {  // the last line, cut while it was written
      ++dropped;
      continue;
    }
    const auto f = csv_split(line.text);
    int64_t batch = -1, index = -1;
    if (f.size() < 4 || !parse_number(f[2], batch)) {
      if (line.text.empty()) continue;
      throw InputError(fmt::format(
          "{}:{}: the row names no batch (its 'batch' field is not a number); the folder cannot "
          "be resumed: remove the line or start a new folder",
          file.string(), line.line));
    }
    const BatchKey key{f[1], batch};
    if (!recorded.count(key)) {  // a row of the batch in flight when the run stopped
      ++dropped;
      continue;
    }
    BatchRows& batch_rows = rows[key];
    const BatchSpan span = plan.span(key.first, key.second);
    bool whole = f.size() == sample_header.size() && parse_number(f[3], index) &&
                 index >= span.first && index < span.first + span.count;
    for (size_t c = 5; whole && c < f.size(); ++c) {
      double score = 0;
      whole = parse_number(f[c], score);  // the reward and evaluation scores
    }
    if (!whole) {
      batch_rows.problems.push_back(fmt::format("line {} is damaged", line.line));
    } else if (!batch_rows.indices.insert(index).second) {
      batch_rows.problems.push_back(fmt::format("line {} repeats sample {}", line.line, index));
    } else {
      kept.emplace_back(key, line.text);
    }
  }
  return rows;
}

// Keeps the lines of a per-batch CSV file (run in column 0, batch in
// column `batch_column`) whose batch is in `finished`; returns how many it
// dropped.
size_t keep_finished_lines(const std::filesystem::path& file, size_t batch_column,
                           const std::set<BatchKey>& finished) {
  std::string header;
  const auto lines = read_lines(file, &header);
  std::vector<std::string> kept;
  for (const auto& line : lines) {
    const auto f = csv_split(line.text);
    int64_t batch = -1;
    if (line.whole && f.size() > batch_column && parse_number(f[batch_column], batch) &&
        finished.count({f[0], batch})) {
      kept.push_back(line.text);
    }
  }
  const size_t dropped = lines.size() - kept.size();
  if (dropped) rewrite_lines(file, header, kept);
  return dropped;
}

}  // namespace

void record_started_config(const std::filesystem::path& dir, const Experiment& experiment) {
  write_atomically(started_config_file(dir), [&](const std::filesystem::path& tmp) {
    std::ofstream out(tmp, std::ios::trunc);
    out << experiment.effective_toml;
    finish_writing(out, tmp);
  });
}

void check_started_config(const std::filesystem::path& dir, const Experiment& experiment) {
  const auto file = started_config_file(dir);
  if (!std::filesystem::exists(file)) {
    logger("run")->warn(
        "resume: {} holds no record of the configuration it started with (an older svdd made "
        "it), so edits to config.toml cannot be told; recording it now",
        dir.string());
    record_started_config(dir, experiment);
    return;
  }
  std::ifstream in(file);
  std::stringstream text;
  text << in.rdbuf();
  if (!in)
    throw InputError(fmt::format("--resume {}: cannot read {}", dir.string(), file.string()));
  if (text.str() == experiment.effective_toml) return;
  std::string difference;
  try {
    difference = first_toml_difference(text.str(), experiment.effective_toml);
  } catch (const std::exception&) {
    difference = fmt::format("{} is damaged", file.filename().string());
  }
  if (difference.empty()) return;  // the same values, written differently
  throw InputError(fmt::format(
      "--resume {}: config.toml is not the configuration this folder was started with ({}); "
      "resuming would mix two configurations in one file. Undo the edit, or run the edited "
      "file into a new folder: svdd run {}/config.toml --out NEW",
      dir.string(), difference, dir.string()));
}

std::set<BatchKey> reconcile_results(const OutputFiles& files, const Experiment& experiment,
                                     const std::vector<std::string>& sample_header) {
  const BatchPlan plan(experiment);
  const auto recorded = recorded_batches(files, plan);
  std::vector<std::pair<BatchKey, std::string>> kept;
  size_t dropped = 0;
  const auto rows = read_sample_rows(files, recorded, plan, sample_header, kept, dropped);

  std::set<BatchKey> finished;
  for (const auto& [key, record] : recorded) {
    auto it = rows.find(key);
    const size_t whole = it == rows.end() ? 0 : it->second.indices.size();
    if (whole == static_cast<size_t>(record.samples) && it->second.problems.empty()) {
      finished.insert(key);
      continue;
    }
    std::string problems;
    if (it != rows.end()) {
      for (const auto& p : it->second.problems) problems += "; " + p;
    }
    logger("run")->warn(
        "resume: batch {} of run '{}' ({}:{}) has {} of its {} rows whole in samples.csv{}; "
        "redoing the batch",
        key.second, key.first, files.batches().string(), record.line, whole, record.samples,
        problems);
  }
  // Rows of batches redone leave samples.csv with those that were kept.
  std::vector<std::string> sample_lines;
  for (const auto& [key, text] : kept) {
    if (finished.count(key)) sample_lines.push_back(text);
  }
  std::string header;
  const size_t sample_rows = read_lines(files.samples(), &header).size();
  if (sample_lines.size() != sample_rows) {
    rewrite_lines(files.samples(), csv_line(sample_header), sample_lines);
  }
  if (dropped) {
    logger("run")->info("resume: dropped {} rows of unfinished batches from samples.csv", dropped);
  }
  keep_finished_lines(files.batches(), 1, finished);
  if (const size_t d = keep_finished_lines(files.diagnostics(), 1, finished)) {
    logger("run")->info("resume: dropped {} rows of unfinished batches from diagnostics.csv", d);
  }
  return finished;
}

void clear_unfinished_results(const OutputFiles& files) {
  for (const auto& file : {files.samples(), files.batches(), files.diagnostics()}) {
    std::filesystem::remove(file);
  }
}

}  // namespace svdd
