// Runs an experiment and writes its folder:
//   config.toml   effective configuration, versions, seeds
//   samples.csv   method, run, batch, index, sample, reward, eval_<name>...
//   batches.csv   one line per finished batch with its cost (the resume log)
//   summary.csv / summary.md   one row per run
//   run.log       the log
// Results are appended as each batch finishes; `resume` continues a folder
// without redoing finished batches.
#pragma once

#include <filesystem>

#include "svdd/config/experiment.hpp"
#include "svdd/export.hpp"
#include "svdd/io/csv.hpp"  // read_csv, to read the files back
#include "svdd/registry.hpp"

namespace svdd {

struct RunOptions {
  std::filesystem::path out_dir;
  bool resume = false;
  bool progress = true;  // show progress on the terminal
};

SVDD_API void run_experiment(const Experiment& experiment, const Registry& registry,
                             const RunOptions& options);

}  // namespace svdd
