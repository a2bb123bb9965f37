// Experiment files (see experiment.hpp), read in stages: read the file,
// apply --set overrides, check the top level, expand [sweep] into runs
// (sweep.cpp), validate every run's components, write the effective
// configuration.
#include "svdd/config/experiment.hpp"

#include <ATen/Context.h>
#include <ATen/Parallel.h>
#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <set>
#include <sstream>
#include <thread>

#include "config/sweep.hpp"
#include "config/toml_config.hpp"
#include "svdd/error.hpp"
#include "svdd/util/log.hpp"
#include "svdd/version.hpp"

namespace svdd {

void ExperimentSettings::visit(ParamVisitor& v) {
  v.field("name", name, "name of the experiment (default output folder runs/<name>)");
  v.require(!name.empty() && name != "." && name != ".." && name.find('/') == std::string::npos,
            "name", "must be a folder name: not empty, '.' or '..', and without '/'");
  v.field("seed", seed, "master seed; every batch's generator derives from it and the run label");
  v.field("seeds", seeds,
          "replicates: every run once per seed listed (labels <run>[seed=s]; each equals a run of "
          "seed = s), pooled in the summary with mean and sd over seeds; [] runs once at seed");
  {
    std::vector<int64_t> sorted = seeds;
    std::sort(sorted.begin(), sorted.end());
    v.require(std::adjacent_find(sorted.begin(), sorted.end()) == sorted.end(), "seeds",
              "must not repeat a seed");
  }
  v.field("samples", samples, "output samples per run");
  v.at_least("samples", samples, 1);
  v.require(samples <= kMostSamples, "samples", fmt::format("must be at most {}", kMostSamples));
  v.field("batch_size", batch_size, "output samples per batch (results are saved per batch)");
  v.at_least("batch_size", batch_size, 1);
  v.field("device", device, "\"cpu\" or \"cuda\" (when libtorch has CUDA)");
  v.require(device == "cpu" || device.rfind("cuda", 0) == 0, "device",
            "must be \"cpu\" or \"cuda\"");
  v.field("threads", threads, "CPU threads for libtorch; 0 uses all cores");
  v.non_negative("threads", threads);
  v.field("chunk_rows", chunk_rows, "most rows per batched network or value call");
  v.at_least("chunk_rows", chunk_rows, 1);
  v.field("target_alpha", target_alpha,
          "toy models: the alpha of the target p_pre exp(r/alpha)/Z behind target_distance");
  v.non_negative("target_alpha", target_alpha);
  v.field("output", output, "default output folder (relative to the working directory)");
  FilePath data{data_dir};
  v.field("data_dir", data, "the shared data folder (default $SVDD_DATA_DIR or ../shared/data)");
  data_dir = data.path;
}

void ReportSettings::visit(ParamVisitor& v) {
  v.field("paper_table", paper_table,
          "the seed paper's Table 1 task shown beside this experiment in table1.md (a task of "
          "svdd_paper/table1.csv, e.g. \"rna_utr_mrl\"); \"\" shows none");
  v.field("paper_methods", paper_methods,
          "\"column=method\" entries: the method standing for each paper column (pretrained, "
          "best_of_n, dps, smc, svdd, svdd_r); a method named like a column stands for it");
  for (const auto& entry : paper_methods) {
    const auto eq = entry.find('=');
    v.require(eq != std::string::npos && eq > 0 && eq + 1 < entry.size(), "paper_methods",
              fmt::format("entries are \"column=method\", not '{}'", entry));
  }
}

void ExperimentSettings::check_device() const {
  if (device.rfind("cuda", 0) == 0 && !at::hasCUDA()) {
    throw InputError(fmt::format(
        "[experiment] device = \"{}\": this libtorch ({}) was built without CUDA or sees no GPU; "
        "use device = \"cpu\"",
        device, torch_version()));
  }
}

int64_t ExperimentSettings::apply_threads() const {
  const int64_t cores = std::max<int64_t>(1, std::thread::hardware_concurrency());
  int64_t n = threads > 0 ? threads : cores;
  if (n > cores) {
    // More threads than cores only slow libtorch down (and 100000 of them
    // exhaust the process).
    logger("core")->warn("threads = {}: this machine has {} cores; using {}", threads, cores,
                         cores);
    n = cores;
  }
  at::set_num_threads(static_cast<int>(n));
  return n;
}

std::filesystem::path default_data_dir() {
  if (const char* env = std::getenv("SVDD_DATA_DIR"); env && *env) return env;
  for (auto dir = std::filesystem::current_path(); !dir.empty(); dir = dir.parent_path()) {
    auto candidate = dir / ".." / "shared" / "data";
    if (std::filesystem::is_directory(candidate)) return candidate.lexically_normal();
    if (dir == dir.root_path()) break;
  }
#ifdef SVDD_SOURCE_DIR
  auto beside_source = std::filesystem::path(SVDD_SOURCE_DIR) / ".." / "shared" / "data";
  if (std::filesystem::is_directory(beside_source)) return beside_source.lexically_normal();
#endif
  return {};
}

std::filesystem::path data_file_path(const std::string& file, const std::filesystem::path& data_dir,
                                     const std::string& who) {
  const std::filesystem::path path(file);
  if (path.is_absolute()) return path;
  if (data_dir.empty()) {
    throw InputError(fmt::format(
        "{}: '{}' is relative but there is no data folder (set [experiment] data_dir or "
        "$SVDD_DATA_DIR, or give an absolute path)",
        who, file));
  }
  return data_dir / path;
}

namespace {

const std::vector<std::string> kTopLevel{"experiment", "model",   "reward", "eval",
                                         "metrics",    "methods", "sweep",  "report"};

const toml::table& require_table(const toml::table& root, const std::string& key,
                                 const SourceMap& sources) {
  const toml::node* node = root.get(key);
  if (!node) throw InputError(fmt::format("{}: missing [{}] table", sources.file, key));
  if (!node->is_table())
    throw InputError(fmt::format("{}: '{}' must be a table", sources.locate(key), key));
  return *node->as_table();
}

struct Specs {
  ComponentSpec model, reward, method;
  std::vector<std::pair<std::string, ComponentSpec>> evals, metrics;
};

Specs specs_of(const toml::table& root, const std::string& method, const ConfigOrigin& top) {
  auto at = [&](const std::string& path) { return ConfigOrigin{top.sources, path, top.base_dir}; };
  Specs specs;
  specs.model = component_spec_from(*root.get("model"), at("model"));
  specs.reward = component_spec_from(*root.get("reward"), at("reward"));
  const toml::table& methods = *root.get("methods")->as_table();
  specs.method = component_spec_from(*methods.get(method), at("methods." + method));
  // [eval.<name>] and [metrics.<name>]: named components in file order.
  auto named = [&](const std::string& key,
                   std::vector<std::pair<std::string, ComponentSpec>>& out) {
    const toml::node* node = root.get(key);
    if (!node) return;
    const toml::table* tables = node->as_table();
    if (!tables) {
      throw InputError(
          fmt::format("{}: '{}' must be a table of tables", top.sources->locate(key), key));
    }
    for (const auto& name : ordered_names(*tables, key, *top.sources)) {
      out.emplace_back(name, component_spec_from(*tables->get(name), at(key + "." + name)));
    }
  };
  named("eval", specs.evals);
  named("metrics", specs.metrics);
  return specs;
}

// A top-level table of settings (`key`: "experiment", "report") read into
// T; its defaults when the file has none.
template <class T>
T read_top_table(const toml::table& root, const ConfigOrigin& top, const std::string& key,
                 T settings) {
  toml::table table;
  if (const toml::node* node = root.get(key)) {
    if (!node->is_table()) {
      throw InputError(fmt::format("{}: '{}' must be a table", top.sources->locate(key), key));
    }
    table = *node->as_table();
  }
  auto config = make_component_config(table, ConfigOrigin{top.sources, key, top.base_dir});
  config->read([&](ParamVisitor& v) { settings.visit(v); });
  return settings;
}

ExperimentSettings read_settings(const toml::table& root, const ConfigOrigin& top) {
  ExperimentSettings settings;
  settings.data_dir = default_data_dir();
  return read_top_table(root, top, "experiment", std::move(settings));
}

// Refuses unknown top-level keys and missing or malformed [model],
// [reward] and [methods]; returns [methods].
const toml::table& check_top_level(const toml::table& root, const SourceMap& sources) {
  for (auto&& [key, node] : root) {
    if (std::find(kTopLevel.begin(), kTopLevel.end(), key.str()) == kTopLevel.end()) {
      throw InputError(fmt::format("{}: unknown top-level key '{}' (known: {})",
                                   sources.locate(std::string(key.str())), key.str(),
                                   fmt::join(kTopLevel, ", ")));
    }
  }
  require_table(root, "model", sources);
  require_table(root, "reward", sources);
  const toml::table& methods = require_table(root, "methods", sources);
  if (methods.empty()) throw InputError(fmt::format("{}: [methods] names no method", sources.file));
  for (auto&& [key, node] : methods) {
    if (!node.is_table()) {
      throw InputError(
          fmt::format("{}: [methods] {}: expected a table like [methods.{}] with type = ...",
                      sources.locate("methods." + std::string(key.str())), key.str(), key.str()));
    }
  }
  return methods;
}

// One run of `method` at a sweep point, every component table validated now,
// before any work.
RunPlan plan_run(const SweepPoint& point, const std::string& method, const ConfigOrigin& file_top,
                 const Registry& registry) {
  // A value the sweep set is reported at its [sweep] line, not at the line
  // of the table it replaced.
  ConfigOrigin top = file_top;
  if (!point.swept.empty()) top.sources = file_top.sources->redirected(point.swept);
  // Labels are written to every result file; a line break or another
  // control character would not read back from them.
  for (unsigned char c : point.label) {
    if (c < 0x20 || c == 0x7f) {
      throw InputError(fmt::format(
          "{}: [methods.{}]: the run label '{}' holds a control character (a line break?); "
          "method names and sweep values must be printable to round-trip through samples.csv "
          "and summary.csv",
          top.sources->locate("methods." + method), method, point.label));
    }
  }
  RunPlan plan;
  plan.method = method;
  plan.label = plan.base_label = point.label;
  plan.context = point.context;
  Specs specs = specs_of(point.root, method, top);
  plan.model = specs.model;
  plan.reward = specs.reward;
  plan.evals = specs.evals;
  plan.metrics = specs.metrics;
  plan.method_spec = specs.method;
  plan.settings = read_settings(point.root, top);
  registry.effective_toml(ComponentKind::model, plan.model);
  registry.effective_toml(ComponentKind::reward, plan.reward);
  for (const auto& [eval_name, spec] : plan.evals) {
    registry.effective_toml(ComponentKind::reward, spec);
  }
  for (const auto& [metric_name, spec] : plan.metrics) {
    registry.effective_toml(ComponentKind::metric, spec);
  }
  registry.effective_toml(ComponentKind::method, plan.method_spec);
  return plan;
}

// Run `plan` at `seed` of [experiment] seeds: the label and context name the
// seed, the batches' streams keep deriving from the label without it.
RunPlan replicate(const RunPlan& plan, int64_t seed) {
  RunPlan copy = plan;
  copy.settings.seed = seed;
  const std::string part = fmt::format("seed={}", seed);
  copy.label = plan.label.back() == ']'
                   ? fmt::format("{},{}]", plan.label.substr(0, plan.label.size() - 1), part)
                   : fmt::format("{}[{}]", plan.label, part);
  copy.context = plan.context.empty() ? part : plan.context + "," + part;
  return copy;
}

// The effective configuration: every component table with its defaults,
// sections in the file's order (toml++ would sort them, and method order is
// the order of runs), then the sweep.
std::string effective_config(const toml::table& root, const ConfigOrigin& top,
                             ExperimentSettings settings, ReportSettings report,
                             const std::vector<std::string>& method_names,
                             const std::vector<SweepAxis>& axes, const Registry& registry) {
  auto effective = [&](ComponentKind kind, const ComponentSpec& spec) {
    toml::table t = toml::parse(registry.effective_toml(kind, spec));
    t.insert_or_assign("type", spec.type);
    return t;
  };
  const toml::table& methods = *root.get("methods")->as_table();
  Specs specs = specs_of(root, method_names.front(), top);
  std::string text =
      section_text({"experiment"}, write_params([&](ParamVisitor& v) { settings.visit(v); }));
  text += section_text({"model"}, effective(ComponentKind::model, specs.model));
  text += section_text({"reward"}, effective(ComponentKind::reward, specs.reward));
  for (const auto& [eval_name, spec] : specs.evals) {
    text += section_text({"eval", eval_name}, effective(ComponentKind::reward, spec));
  }
  for (const auto& [metric_name, spec] : specs.metrics) {
    text += section_text({"metrics", metric_name}, effective(ComponentKind::metric, spec));
  }
  for (const auto& method : method_names) {
    auto spec = component_spec_from(*methods.get(method),
                                    ConfigOrigin{top.sources, "methods." + method, top.base_dir});
    text += section_text({"methods", method}, effective(ComponentKind::method, spec));
  }
  if (!axes.empty()) text += section_text({"sweep"}, sweep_table(axes));
  // Only when given: the configurations of runs without one stay as they were.
  if (root.get("report")) {
    text += section_text({"report"}, write_params([&](ParamVisitor& v) { report.visit(v); }));
  }
  return text;
}

}  // namespace

Experiment load_experiment(const std::filesystem::path& file,
                           const std::vector<std::string>& overrides, const Registry& registry) {
  toml::table root = read_toml_file(file, "experiment file");
  const ConfigOrigin top{SourceMap::of(root, file.string()), "",
                         std::filesystem::absolute(file).parent_path()};
  const SourceMap& sources = *top.sources;
  for (const auto& assignment : overrides) apply_override(root, assignment);
  const toml::table& methods = check_top_level(root, sources);

  Experiment experiment;
  experiment.file = file;
  experiment.settings = read_settings(root, top);
  experiment.report = read_top_table(root, top, "report", ReportSettings{});
  const auto method_names = ordered_names(methods, "methods", sources);
  const auto axes = read_sweep_axes(root, methods, method_names, sources);
  for (const auto& method : method_names) {
    std::set<std::string> labels;
    for (const auto& point : sweep_points(root, method, axes)) {
      // The label names the run in every result file and the resume log.
      if (!labels.insert(point.label).second) {
        throw InputError(fmt::format(
            "{}: [sweep] gives method '{}' two runs named '{}': a value is repeated, or two "
            "values print alike (tables of one type: sweep the key that differs, e.g. "
            "model.length, instead)",
            sources.locate(point.swept.empty() ? "sweep" : point.swept.front().second), method,
            point.label));
      }
      RunPlan plan = plan_run(point, method, top, registry);
      if (plan.settings.seeds.empty()) {
        experiment.runs.push_back(std::move(plan));
        continue;
      }
      if (std::any_of(point.swept.begin(), point.swept.end(),
                      [](const auto& swept) { return swept.first == "experiment.seeds"; })) {
        throw InputError(
            fmt::format("{}: [sweep] experiment.seeds: list the seeds in [experiment] "
                        "seeds instead",
                        sources.locate("sweep.experiment.seeds")));
      }
      for (const int64_t seed : plan.settings.seeds)
        experiment.runs.push_back(replicate(plan, seed));
    }
  }
  experiment.effective_toml = effective_config(root, top, experiment.settings, experiment.report,
                                               method_names, axes, registry);
  return experiment;
}

}  // namespace svdd
