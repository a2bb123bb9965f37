// `svdd train` for plugin-defined trainers (see trainer.hpp): reads a
// training file strictly, resolves the checkpoint and hands the [training]
// table to the trainer it names.
#include <ATen/ATen.h>
#include <fmt/format.h>

#include <fstream>
#include <sstream>

#include "config/toml_config.hpp"
#include "io/file_writing.hpp"
#include "svdd/config/experiment.hpp"
#include "svdd/error.hpp"
#include "svdd/registry.hpp"
#include "svdd/util/log.hpp"
#include "svdd/version.hpp"

namespace svdd {

std::filesystem::path resume_state_path(const std::filesystem::path& checkpoint) {
  std::filesystem::path p = checkpoint;
  return p.replace_extension(".resume.pt");
}

namespace {

// A training file read strictly: its [experiment] settings and the
// [training] table as the trainer's spec, with where each key stands.
struct TrainingFile {
  std::filesystem::path file;  // absolute
  std::shared_ptr<const SourceMap> sources;
  ExperimentSettings settings;
  ComponentSpec spec;
};

TrainingFile read_training_file(const TrainingOptions& options) {
  TrainingFile tf;
  tf.file = std::filesystem::absolute(options.file).lexically_normal();
  toml::table root = read_toml_file(tf.file, "training file");
  tf.sources = SourceMap::of(root, options.file.string());
  const SourceMap& sources = *tf.sources;
  for (const auto& assignment : options.overrides) apply_override(root, assignment);
  if (root.contains("value_training")) {
    // The form before value networks became a trainer like the others.
    throw InputError(fmt::format(
        "{}: [value_training] is the old form of a value-network training file; write "
        "[training] type = \"value_network\" with the same keys (--set training.KEY), and move "
        "[model] and [reward] to [training.model] and [training.reward] (see "
        "experiments/pretrain/value_toy_categorical.toml)",
        sources.locate("value_training")));
  }
  for (auto&& [key, node] : root) {
    if (key.str() != "experiment" && key.str() != "training") {
      throw InputError(fmt::format(
          "{}: unknown top-level key '{}' (known in a training file: experiment, training)",
          sources.locate(std::string(key.str())), key.str()));
    }
  }
  auto origin = [&](const std::string& path) {
    return ConfigOrigin{tf.sources, path, tf.file.parent_path()};
  };
  auto table_at = [&](const std::string& key) -> toml::table {
    const toml::node* node = root.get(key);
    if (!node) return {};
    if (!node->is_table()) {
      throw InputError(fmt::format("{}: '{}' must be a table", sources.locate(key), key));
    }
    return *node->as_table();
  };
  tf.settings.data_dir = default_data_dir();
  make_component_config(table_at("experiment"), origin("experiment"))->read([&](ParamVisitor& v) {
    tf.settings.visit(v);
  });
  if (!table_at("training").contains("type")) {
    throw InputError(fmt::format("{}: [training] needs a type (a trainer; see svdd list)",
                                 sources.locate("training")));
  }
  tf.spec = component_spec_from(*root.get("training"), origin("training"));
  return tf;
}

// The checkpoint: --out, else [training] output (relative to the file's
// folder), else the file's name with .pt.
std::filesystem::path checkpoint_of(const TrainingOptions& options,
                                    const std::filesystem::path& file, const std::string& output) {
  std::filesystem::path checkpoint;
  if (!options.out.empty()) {
    checkpoint = std::filesystem::absolute(options.out);
  } else if (!output.empty()) {
    checkpoint = file.parent_path() / output;
  } else {
    checkpoint = file.parent_path() / file.filename().replace_extension(".pt");
  }
  return checkpoint.lexically_normal();
}

// What the trainer gets: the card's [config.*] tables and the fingerprint a
// resume state must match (the configuration without threads and output).
void describe_configuration(TrainContext& context, const ExperimentSettings& settings,
                            const toml::table& effective) {
  ExperimentSettings copy = settings;
  toml::table experiment = write_params([&](ParamVisitor& v) { copy.visit(v); });
  context.config_toml = section_text({"config", "experiment"}, experiment) +
                        section_text({"config", "training"}, effective);
  experiment.erase("threads");
  toml::table resumed = effective;
  resumed.erase("output");
  context.fingerprint_toml =
      section_text({"experiment"}, experiment) + section_text({"training"}, resumed);
}

}  // namespace

void train_component(const TrainingOptions& options, const Registry& registry) {
  const TrainingFile tf = read_training_file(options);
  const ComponentSpec& spec = tf.spec;
  // Validates the table (unknown keys, types, values) before any work.
  toml::table effective = toml::parse(registry.effective_toml(ComponentKind::trainer, spec));
  const std::filesystem::path checkpoint =
      checkpoint_of(options, tf.file, effective["output"].value_or(std::string()));
  effective.insert_or_assign("output", checkpoint.string());
  effective.insert_or_assign("type", spec.type);

  const ExperimentSettings& settings = tf.settings;
  settings.check_device();
  const int64_t threads = settings.apply_threads();
  BuildContext build;
  build.device = settings.device;
  build.chunk_rows = settings.chunk_rows;
  build.data_dir = settings.data_dir;
  build.registry = &registry;
  TrainContext context{build};
  context.seed = settings.seed;
  context.training_file = tf.file;
  context.checkpoint = checkpoint;
  describe_configuration(context, settings, effective);
  context.resume = options.resume;
  context.stop_after_epoch = options.stop_after_epoch;
  context.registry = &registry;
  context.locate = [sources = tf.sources](const std::string& path) {
    return sources->locate(path);
  };
  if (options.resume && !std::filesystem::exists(resume_state_path(checkpoint))) {
    throw InputError(fmt::format(
        "--resume: no training state {} to continue (run `svdd train {}` without --resume to "
        "start)",
        resume_state_path(checkpoint).string(), options.file.string()));
  }
  check_output_file(checkpoint);
  logger("train")->info("svdd {} (libtorch {}): {} -> {} ({} threads{})", version(),
                        torch_version(), spec.type, checkpoint.string(), threads,
                        options.resume ? ", resuming" : "");
  try {
    registry.train(spec, context);
  } catch (const TrainingStopped& stopped) {
    logger("train")->info("{}", stopped.what());
  }
}

}  // namespace svdd
