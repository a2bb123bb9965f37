// `svdd score`: designs made elsewhere (another tool, a paper's scripts, a
// fine-tuned model) judged by the same reward, evaluation rewards and
// metrics as svdd's own runs, written in a run's format (samples.csv,
// batches.csv, summary.csv, summary.md) so that they sit in one table.
//
// Each design is a sample's decoded form (a DNA string, a SMILES, a PNG
// data URI or file, a toy string), turned back into a sample by its
// domain's encode. A design the domain cannot encode is reported with its
// file and line and scored as invalid (the reward's invalid_value); the
// rest are scored in batches of the experiment's batch_size. Every input
// (or every value of the --group column in it) is one row of the summary.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "svdd/config/experiment.hpp"
#include "svdd/export.hpp"
#include "svdd/registry.hpp"

namespace svdd {

struct ScoreOptions {
  std::vector<std::filesystem::path> inputs;
  // The column of the designs in CSV/TSV inputs; "" reads one design per
  // line (blank lines skipped).
  std::string column;
  // A column whose values split an input into rows (e.g. "run" of a run's
  // samples.csv); "" for one row per input.
  std::string group;
  // The rows' names, one per input; empty: each input's file name without
  // its suffix.
  std::vector<std::string> labels;
  std::filesystem::path out_dir;  // "" -> runs/<experiment name>_score
};

// Scores the designs with the experiment's model domain, reward, [eval.*]
// and [metrics.*] (its methods are not run). Throws InputError for bad
// input (a missing file or column, labels that do not match the inputs, an
// experiment that sweeps its model or reward) before any scoring.
SVDD_API void score_designs(const Experiment& experiment, const Registry& registry,
                            const ScoreOptions& options);

}  // namespace svdd
