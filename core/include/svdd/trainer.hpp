// Trainers: `svdd train FILE.toml` for every network svdd fits (a diffusion
// model's denoiser, a reward oracle, an SVDD-MC value network). A training
// file has an optional [experiment] table (seed, device, threads,
// chunk_rows, data_dir) and a [training] table whose `type` names a
// registered trainer; the rest of [training] is the trainer's parameters,
// read strictly like every component table (nested components such as
// [training.model] included), plus `output`, the checkpoint to write.
//
// A trainer writes the checkpoint TrainContext::checkpoint and, beside it,
// a card (write_training_card, training/card.hpp) saying what was trained, on which data (with
// the file's SHA-1), with which seed and configuration, and how well it did.
// Trainers built on EpochLoop (training/epoch_loop.hpp) also keep
// NAME.resume.pt after every epoch, which `svdd train --resume` continues.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include "svdd/export.hpp"
#include "svdd/params.hpp"

namespace svdd {

class Registry;
struct BuildContext;

struct TrainContext {
  const BuildContext& build;            // device, chunk_rows, data_dir
  int64_t seed = 0;                     // [experiment] seed; derive every stream from it
  std::filesystem::path training_file;  // absolute
  std::filesystem::path checkpoint;     // absolute: where to write the network
  std::string config_toml;              // the effective [config.*] tables, for the card
  // What a resumed training must share with the one it continues: the
  // effective [experiment] (without threads) and [training] (without
  // output) tables as TOML text.
  std::string fingerprint_toml;
  bool resume = false;           // --resume: continue from NAME.resume.pt
  int64_t stop_after_epoch = 0;  // --stop-after: end after this epoch as if interrupted (0: never)
  // Builds the components a trainer's table nests ([training.model], ...).
  const Registry* registry = nullptr;
  // "file:line:col" of a key path ("training.epochs") of the training file,
  // for a trainer's own refusals; the file's name when not set.
  std::function<std::string(const std::string&)> locate;
};

// Options of `svdd train`.
struct TrainingOptions {
  std::filesystem::path file;
  std::vector<std::string> overrides;  // "key.path=value", as `svdd run --set`
  std::filesystem::path out;           // the checkpoint; empty: [training] output
  bool resume = false;                 // continue from the checkpoint's NAME.resume.pt
  int64_t stop_after_epoch = 0;        // end after this epoch as if interrupted (0: never)
};

// Thrown by a training loop that stops after TrainContext::stop_after_epoch
// with its state saved; train_component reports it and returns.
struct SVDD_API TrainingStopped : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Runs the trainer a [training] file names. An old [value_training] file is
// refused with what to write instead. Sets libtorch's CPU threads from
// [experiment] threads. Throws InputError for bad input (file, line, table
// and key) and RuntimeFailure for failures while training.
SVDD_API void train_component(const TrainingOptions& options, const Registry& registry);

// "dir/NAME.pt" -> "dir/NAME.resume.pt", the state --resume continues.
SVDD_API std::filesystem::path resume_state_path(const std::filesystem::path& checkpoint);

}  // namespace svdd
