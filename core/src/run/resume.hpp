// Private: what `svdd run --resume DIR` checks before it continues a folder,
// so that a resume never mixes two configurations in one file and never
// counts a batch whose samples are not all there.
//
// 1. The configuration. A fresh run records its effective configuration in
//    DIR/.svdd.config.toml beside config.toml; a resume loads config.toml
//    and refuses any difference from the record, naming the first key.
// 2. The results. Every batch batches.csv records as finished must have
//    exactly its rows in samples.csv (indices first..first+n-1, each row
//    whole, none twice). A batch that does not is redone: its line leaves
//    batches.csv, its rows leave samples.csv and diagnostics.csv, each
//    named in a warning. A damaged batches.csv line, or a samples.csv line
//    that names no batch, cannot be redone safely and is refused naming the
//    file and line.
#pragma once

#include <cstdint>
#include <filesystem>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "run/result_files.hpp"
#include "svdd/config/experiment.hpp"

namespace svdd {

// Records the configuration a fresh run starts with.
void record_started_config(const std::filesystem::path& dir, const Experiment& experiment);

// Throws InputError when `experiment` (loaded from DIR/config.toml) differs
// from the configuration DIR was started with.
void check_started_config(const std::filesystem::path& dir, const Experiment& experiment);

// Brings the result files of `files.dir` to the batches that finished whole
// (see above) and returns those (run label, batch) pairs. `sample_header` is
// the header samples.csv must have.
std::set<std::pair<std::string, int64_t>> reconcile_results(
    const OutputFiles& files, const Experiment& experiment,
    const std::vector<std::string>& sample_header);

// Removes the result files of a fresh run's folder that hold no finished
// batch (left by a run stopped before its first batch).
void clear_unfinished_results(const OutputFiles& files);

}  // namespace svdd
