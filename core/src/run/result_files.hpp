// Private: the files of a run folder and how they are appended and resumed.
//   samples.csv      one row per sample (method, run, batch, index, sample,
//                    reward, eval_<name>...)
//   batches.csv      one row per finished batch with its cost, diversity and
//                    toy bins: the resume log (a batch counts as finished only
//                    once its row is here)
//   diagnostics.csv  per-step reports of methods (run, batch, step, name, value)
//   config.toml      the effective configuration
#pragma once

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "svdd/config/experiment.hpp"
#include "svdd/decoding/decoding_loop.hpp"

namespace svdd {

struct OutputFiles {
  std::filesystem::path dir;
  std::filesystem::path samples() const { return dir / "samples.csv"; }
  std::filesystem::path batches() const { return dir / "batches.csv"; }
  std::filesystem::path diagnostics() const { return dir / "diagnostics.csv"; }
};

// An append-only CSV file that writes its header when it is new.
class AppendCsv {
 public:
  AppendCsv(const std::filesystem::path& file, const std::vector<std::string>& header);
  void row(const std::vector<std::string>& fields);
  // Flushes; throws RuntimeFailure when the file cannot be written.
  void flush();
  void close() { out_.close(); }

 private:
  std::filesystem::path file_;
  std::ofstream out_;
};

// The columns of batches.csv.
extern const std::vector<std::string> kBatchHeader;

// Cost and sample totals of one run label, summed over batches.csv.
struct RunTotals {
  Cost cost;
  int64_t samples = 0;
  double diversity_sum = 0;
  int64_t diversity_pairs = 0;
  std::map<int64_t, int64_t> bins;  // bin -> count (-1: outside)
};

// Totals per run label (empty when there is no batches.csv yet).
std::map<std::string, RunTotals> read_totals(const std::filesystem::path& batches_file);

// The (run label, batch) pairs batches.csv records as finished.
std::set<std::pair<std::string, int64_t>> finished_batches(
    const std::filesystem::path& batches_file);

// Keeps only the rows of batches recorded as finished in a per-batch CSV
// file with "run" and "batch" columns (a crash can leave rows of the batch
// in flight).
void truncate_to_finished(const std::filesystem::path& file,
                          const std::set<std::pair<std::string, int64_t>>& finished);

// The bins column of batches.csv: "bin:count bin:count ...".
std::string bins_text(const std::map<int64_t, int64_t>& bins);
std::map<int64_t, int64_t> parse_bins(const std::string& text);

// Writes dir/config.toml: the effective configuration with versions, time
// and how every batch's seed derives from the master seed.
void write_config(const std::filesystem::path& dir, const Experiment& experiment);

}  // namespace svdd
