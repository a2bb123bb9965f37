// Experiment files: one TOML file describes one comparison (model, reward,
// evaluation rewards, methods, sweep). Parsing is strict and checks every
// component table, name and file before any work starts.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "svdd/export.hpp"
#include "svdd/params.hpp"
#include "svdd/registry.hpp"

namespace svdd {

// The most output samples a run may ask for: far beyond any comparison,
// and it keeps sample counts, batch counts and row products in range.
inline constexpr int64_t kMostSamples = 1'000'000'000;

struct ExperimentSettings {
  std::string name = "experiment";
  int64_t seed = 0;
  // Replicates: when not empty, every run runs once per seed here (run
  // label "<label>[seed=s]"), each exactly as a run of a file with
  // seed = s would (its batches' generators derive from s and the label
  // without the seed), and the summary pools them.
  std::vector<int64_t> seeds;
  int64_t samples = 64;     // output samples per run
  int64_t batch_size = 64;  // output samples per batch (the unit of resume)
  std::string device = "cpu";
  int64_t threads = 0;  // 0: all cores
  int64_t chunk_rows = 4096;
  double target_alpha = 0.1;  // toys: alpha of the reported target p_pre exp(r/alpha)/Z
  std::string output;         // default output folder ("" -> runs/<name>)
  std::filesystem::path data_dir;

  void visit(ParamVisitor& v);
  // Refuses (InputError) a device this libtorch cannot use.
  void check_device() const;
  // Sets libtorch's CPU threads (0: all cores; more than the machine's cores
  // is clamped to them with a warning); returns how many.
  int64_t apply_threads() const;
};

// One run: a method under one combination of sweep values.
struct RunPlan {
  std::string method;   // the name of its [methods.<name>] table
  std::string label;    // method, or method[key=value,...] under a sweep
  std::string context;  // the values of the sweep keys shared by all methods ("" without)
                        // and "seed=s" under [experiment] seeds
  // The label without the seed ("" part of seeds): the name its batches'
  // random streams derive from, and what the summary pools seeds under.
  std::string base_label;
  ComponentSpec model;
  ComponentSpec reward;
  std::vector<std::pair<std::string, ComponentSpec>> evals;    // [eval.<name>] in file order
  std::vector<std::pair<std::string, ComponentSpec>> metrics;  // [metrics.<name>] in file order
  ComponentSpec method_spec;
  ExperimentSettings settings;
};

// [report]: how `svdd report` presents this experiment.
struct ReportSettings {
  // The task of the seed paper's Table 1 (svdd_paper/table1.csv under the
  // data folder, e.g. "rna_utr_mrl") shown beside this experiment's rows in
  // table1.md; "" shows none.
  std::string paper_table;
  // Which of this experiment's methods stands for each of the paper's
  // columns (pretrained, best_of_n, dps, smc, svdd, svdd_r): "svdd=svdd_pm"
  // entries; a method named like a column stands for it unless mapped.
  std::vector<std::string> paper_methods;
  void visit(ParamVisitor& v);
};

struct Experiment {
  std::filesystem::path file;
  ExperimentSettings settings;  // before any sweep
  ReportSettings report;
  std::vector<RunPlan> runs;
  // The effective configuration (overrides applied, every component's
  // defaults filled in, paths absolute) as TOML text.
  std::string effective_toml;
};

// Reads `file`, applies `overrides` ("key.path=value", value in TOML syntax or
// a bare string), expands [sweep], and validates every component against
// `registry`. Throws InputError naming file, table and key.
SVDD_API Experiment load_experiment(const std::filesystem::path& file,
                                    const std::vector<std::string>& overrides,
                                    const Registry& registry);

// The data folder: $SVDD_DATA_DIR, else ../shared/data next to the source or
// working tree, else "".
SVDD_API std::filesystem::path default_data_dir();

// A data table named in a component's table: `file` as given when absolute,
// else under `data_dir`. Throws InputError, starting with `who` (the
// component), when `file` is relative and there is no data folder.
SVDD_API std::filesystem::path data_file_path(const std::string& file,
                                              const std::filesystem::path& data_dir,
                                              const std::string& who);

}  // namespace svdd
