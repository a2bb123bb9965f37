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

// One row of batches.csv.
struct BatchRecord {
  std::string run;
  int64_t batch = 0;
  int64_t samples = 0;
  Cost cost;
  double diversity_sum = 0;
  int64_t diversity_pairs = 0;
  std::map<int64_t, int64_t> bins;  // bin -> count (-1: outside)
  size_t line = 0;                  // its line in the file
};

// The rows of batches.csv (none when there is no file yet). A last line cut
// mid-write (no newline) is a batch that did not finish: it is left out and
// `*cut_line` is set to its line number (else 0). Any other damaged line
// throws InputError naming the file and line.
std::vector<BatchRecord> read_batch_records(const std::filesystem::path& batches_file,
                                            size_t* cut_line = nullptr);

// Cost and sample totals of one run label, summed over batches.csv.
struct RunTotals {
  Cost cost;
  int64_t samples = 0;
  double diversity_sum = 0;
  int64_t diversity_pairs = 0;
  std::map<int64_t, int64_t> bins;  // bin -> count (-1: outside)
};

// The diversity sums and (toys) bins of the samples x [m, ...] of a batch,
// added to `record`: one reading for a run's batch and a scored one.
void add_batch_statistics(BatchRecord& record, const Domain& domain, const ExactDistribution* exact,
                          const at::Tensor& x);

// The line of `record` in batches.csv, as read_batch_records reads it.
std::vector<std::string> batch_line(const BatchRecord& record);

// The columns of samples.csv with evaluation rewards `eval_names`.
std::vector<std::string> sample_header(const std::vector<std::string>& eval_names);

// Totals per run label (empty when there is no batches.csv yet).
std::map<std::string, RunTotals> read_totals(const std::filesystem::path& batches_file);

// A line of a result file, as a resume reads it.
struct FileLine {
  std::string text;    // without the newline
  size_t line = 0;     // 1-based; the header is line 1
  bool whole = false;  // ends with a newline, as every finished row does
};

// The lines after the header of `file` (none when it does not exist), and
// its header line in `*header` ("" when the file is empty or missing).
std::vector<FileLine> read_lines(const std::filesystem::path& file, std::string* header);

// Rewrites `file` atomically as `header` and `lines`.
void rewrite_lines(const std::filesystem::path& file, const std::string& header,
                   const std::vector<std::string>& lines);

// The bins column of batches.csv: "bin:count bin:count ...".
std::string bins_text(const std::map<int64_t, int64_t>& bins);
// Throws std::invalid_argument on a damaged text.
std::map<int64_t, int64_t> parse_bins(const std::string& text);

// Parses the whole of `text` as a number; false when it is not one.
bool parse_number(const std::string& text, int64_t& value);
bool parse_number(const std::string& text, double& value);

// Writes dir/config.toml: the effective configuration with versions, time
// and how every batch's seed derives from the master seed.
void write_config(const std::filesystem::path& dir, const Experiment& experiment);

}  // namespace svdd
