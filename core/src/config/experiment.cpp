// Experiment files: parsing, --set overrides, [sweep] expansion, validation
// (see experiment.hpp).
#include "svdd/config/experiment.hpp"

#include <ATen/Context.h>
#include <ATen/Parallel.h>
#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <sstream>
#include <thread>

#include "svdd/error.hpp"
#include "svdd/version.hpp"
#include "config/toml_config.hpp"

namespace svdd {

void ExperimentSettings::visit(ParamVisitor& v) {
  v.field("name", name, "name of the experiment (default output folder runs/<name>)");
  v.field("seed", seed, "master seed; every batch's generator derives from it and the run label");
  v.field("samples", samples, "output samples per run");
  v.require(samples >= 1, "samples", "must be at least 1");
  v.field("batch_size", batch_size, "output samples per batch (results are saved per batch)");
  v.require(batch_size >= 1, "batch_size", "must be at least 1");
  v.field("device", device, "\"cpu\" or \"cuda\" (when libtorch has CUDA)");
  v.require(device == "cpu" || device.rfind("cuda", 0) == 0, "device",
            "must be \"cpu\" or \"cuda\"");
  v.field("threads", threads, "CPU threads for libtorch; 0 uses all cores");
  v.require(threads >= 0, "threads", "must be >= 0");
  v.field("chunk_rows", chunk_rows, "most rows per batched network or value call");
  v.require(chunk_rows >= 1, "chunk_rows", "must be at least 1");
  v.field("target_alpha", target_alpha,
          "toy models: the alpha of the target p_pre exp(r/alpha)/Z behind target_distance");
  v.require(target_alpha >= 0, "target_alpha", "must be >= 0");
  v.field("output", output, "default output folder (relative to the working directory)");
  FilePath data{data_dir};
  v.field("data_dir", data, "the shared data folder (default $SVDD_DATA_DIR or ../shared/data)");
  data_dir = data.path;
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
  const int64_t n =
      threads > 0 ? threads : std::max<int64_t>(1, std::thread::hardware_concurrency());
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
                                         "metrics",    "methods", "sweep"};

void flatten_sweep(const toml::table& table, const std::string& prefix,
                   std::vector<std::pair<std::string, const toml::array*>>& out,
                   const SourceMap& sources) {
  for (auto&& [key, node] : table) {
    std::string path =
        prefix.empty() ? std::string(key.str()) : prefix + "." + std::string(key.str());
    if (auto* sub = node.as_table()) {
      flatten_sweep(*sub, path, out, sources);
    } else if (auto* array = node.as_array(); array && !array->empty()) {
      out.emplace_back(path, array);
    } else {
      throw InputError(fmt::format("{}: [sweep] {}: expected a non-empty array of values",
                                   sources.locate("sweep." + path), path));
    }
  }
}

// One sweep axis: one key, or several keys walked together ([sweep.zip]).
struct SweepAxis {
  std::vector<std::pair<std::string, toml::array>> keys;
  size_t size() const { return keys.front().second.size(); }
};

std::string value_label(const toml::node& node) {
  if (auto s = node.value<std::string>(); s && node.is_string()) return *s;
  if (const toml::table* t = node.as_table()) {
    const toml::node* type = t->get("type");
    return type && type->is_string() ? *type->value<std::string>() : "{...}";
  }
  if (node.is_floating_point()) return fmt::format("{}", *node.value<double>());
  std::ostringstream os;
  node.visit([&](auto&& n) { os << n; });
  return os.str();
}

const toml::table& require_table(const toml::table& root, const std::string& key,
                                 const SourceMap& sources) {
  const toml::node* node = root.get(key);
  if (!node) throw InputError(fmt::format("{}: missing [{}] table", sources.file, key));
  if (!node->is_table())
    throw InputError(fmt::format("{}: '{}' must be a table", sources.locate(key), key));
  return *node->as_table();
}

// Keys of `table` in the order they appear in the file (unknown positions,
// e.g. from --set, last).
std::vector<std::string> file_order(const std::vector<std::string>& keys, const std::string& prefix,
                                    const SourceMap& sources) {
  std::vector<std::pair<std::pair<uint32_t, uint32_t>, std::string>> ordered;
  for (const auto& key : keys) {
    auto it = sources.positions.find(prefix.empty() ? key : prefix + "." + key);
    auto position = it != sources.positions.end() && it->second.first > 0
                        ? it->second
                        : std::make_pair(UINT32_MAX, UINT32_MAX);
    ordered.push_back({position, key});
  }
  std::stable_sort(ordered.begin(), ordered.end());
  std::vector<std::string> out;
  for (auto& [position, key] : ordered) out.push_back(key);
  return out;
}

std::vector<std::string> ordered_names(const toml::table& table, const std::string& prefix,
                                       const SourceMap& sources) {
  std::vector<std::string> keys;
  for (auto&& [key, node] : table) keys.emplace_back(key.str());
  return file_order(keys, prefix, sources);
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

ExperimentSettings read_settings(const toml::table& root, const ConfigOrigin& top) {
  toml::table table;
  if (const toml::node* node = root.get("experiment")) {
    if (!node->is_table()) {
      throw InputError(
          fmt::format("{}: 'experiment' must be a table", top.sources->locate("experiment")));
    }
    table = *node->as_table();
  }
  auto config = make_component_config(table, ConfigOrigin{top.sources, "experiment", top.base_dir});
  ExperimentSettings settings;
  settings.data_dir = default_data_dir();
  config->read([&](ParamVisitor& v) { settings.visit(v); });
  return settings;
}

}  // namespace

Experiment load_experiment(const std::filesystem::path& file,
                           const std::vector<std::string>& overrides, const Registry& registry) {
  if (!std::filesystem::is_regular_file(file)) {
    throw InputError(fmt::format("experiment file not found: {}", file.string()));
  }
  const std::string name = file.string();
  toml::table root;
  try {
    root = toml::parse_file(name);
  } catch (const toml::parse_error& e) {
    throw InputError(fmt::format("{}:{}:{}: TOML syntax error: {}", name, e.source().begin.line,
                                 e.source().begin.column, e.description()));
  }
  const ConfigOrigin top{SourceMap::of(root, name), "",
                         std::filesystem::absolute(file).parent_path()};
  const SourceMap& sources = *top.sources;
  for (const auto& assignment : overrides) apply_override(root, assignment);
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
  if (methods.empty()) throw InputError(fmt::format("{}: [methods] names no method", name));
  for (auto&& [key, node] : methods) {
    if (!node.is_table()) {
      throw InputError(
          fmt::format("{}: [methods] {}: expected a table like [methods.{}] with type = ...",
                      sources.locate("methods." + std::string(key.str())), key.str(), key.str()));
    }
  }

  Experiment experiment;
  experiment.file = file;
  experiment.settings = read_settings(root, top);

  // Sweep axes: every key of [sweep] is one axis; the keys of [sweep.zip]
  // together form one axis whose arrays are walked in step (for whole
  // tables that must change together, like model and reward).
  std::vector<SweepAxis> axes_all;
  if (const toml::node* node = root.get("sweep")) {
    if (!node->is_table())
      throw InputError(fmt::format("{}: 'sweep' must be a table", sources.locate("sweep")));
    toml::table plain = *node->as_table();
    if (const toml::node* zip = plain.get("zip")) {
      if (!zip->is_table()) {
        throw InputError(fmt::format("{}: [sweep] zip: expected a table of equally long arrays",
                                     sources.locate("sweep.zip")));
      }
      std::vector<std::pair<std::string, const toml::array*>> keys;
      flatten_sweep(*zip->as_table(), "", keys, sources);
      SweepAxis axis;
      for (const auto& [key, values] : keys) {
        if (values->size() != keys.front().second->size()) {
          throw InputError(fmt::format("{}: [sweep.zip] {}: has {} values, {} has {}",
                                       sources.locate("sweep.zip." + key), key, values->size(),
                                       keys.front().first, keys.front().second->size()));
        }
        axis.keys.push_back({key, toml::array(*values)});
      }
      if (!axis.keys.empty()) axes_all.push_back(std::move(axis));
      plain.erase("zip");
    }
    std::vector<std::pair<std::string, const toml::array*>> keys;
    flatten_sweep(plain, "", keys, sources);
    std::vector<std::string> names;
    for (const auto& key : keys) names.push_back(key.first);
    const auto order = file_order(names, "sweep", sources);
    for (const auto& name : order) {
      auto it =
          std::find_if(keys.begin(), keys.end(), [&](const auto& k) { return k.first == name; });
      axes_all.push_back(SweepAxis{{{it->first, toml::array(*it->second)}}});
    }
  }
  const auto method_names = ordered_names(methods, "methods", sources);
  for (const auto& axis : axes_all) {
    for (const auto& [key, values] : axis.keys) {
      const auto parts = split_path(key);
      const bool known_top =
          std::find(kTopLevel.begin(), kTopLevel.end() - 1, parts[0]) != kTopLevel.end() - 1;
      const bool whole_table = parts.size() == 1 && (parts[0] == "model" || parts[0] == "reward");
      if (!known_top || (parts.size() < 2 && !whole_table) ||
          (parts[0] == "methods" && (parts.size() < 3 || !methods.get(parts[1])))) {
        throw InputError(fmt::format(
            "{}: [sweep] {}: not a key of this experiment (write e.g. methods.<name>.candidates or "
            "model.steps; methods here: {})",
            sources.locate("sweep." + key), key, fmt::join(method_names, ", ")));
      }
    }
  }

  for (const auto& method : method_names) {
    // The axes this method varies along, with only the keys that concern it.
    std::vector<SweepAxis> axes;
    for (const auto& axis : axes_all) {
      SweepAxis own;
      for (const auto& key : axis.keys) {
        const auto parts = split_path(key.first);
        if (parts[0] != "methods" || parts[1] == method) own.keys.push_back(key);
      }
      if (!own.keys.empty()) axes.push_back(std::move(own));
    }
    std::vector<size_t> index(axes.size(), 0);
    while (true) {
      toml::table run_root = root;
      std::vector<std::string> label_parts, context_parts;
      for (size_t a = 0; a < axes.size(); ++a) {
        for (const auto& [key, values] : axes[a].keys) {
          const toml::node& value = *values.get(index[a]);
          set_path(run_root, key, value, fmt::format("[sweep] {}", key));
          std::string short_key = key;
          const std::string own = "methods." + method + ".";
          if (short_key.rfind(own, 0) == 0) {
            short_key = short_key.substr(own.size());
          } else {
            context_parts.push_back(fmt::format("{}={}", key, value_label(value)));
          }
          label_parts.push_back(fmt::format("{}={}", short_key, value_label(value)));
        }
      }
      RunPlan plan;
      plan.method = method;
      plan.label =
          label_parts.empty() ? method : fmt::format("{}[{}]", method, fmt::join(label_parts, ","));
      plan.context = fmt::format("{}", fmt::join(context_parts, ","));
      Specs specs = specs_of(run_root, method, top);
      plan.model = specs.model;
      plan.reward = specs.reward;
      plan.evals = specs.evals;
      plan.metrics = specs.metrics;
      plan.method_spec = specs.method;
      plan.settings = read_settings(run_root, top);
      // Validates every table now, before any work.
      registry.effective_toml(ComponentKind::model, plan.model);
      registry.effective_toml(ComponentKind::reward, plan.reward);
      for (const auto& [eval_name, spec] : plan.evals)
        registry.effective_toml(ComponentKind::reward, spec);
      for (const auto& [metric_name, spec] : plan.metrics)
        registry.effective_toml(ComponentKind::metric, spec);
      registry.effective_toml(ComponentKind::method, plan.method_spec);
      experiment.runs.push_back(std::move(plan));

      size_t a = 0;
      for (; a < axes.size(); ++a) {
        if (++index[a] < axes[a].size()) break;
        index[a] = 0;
      }
      if (a == axes.size()) break;
    }
  }

  // The effective configuration: every component table with its defaults,
  // sections in the file's order (toml++ would sort them, and method order
  // is the order of runs).
  auto effective = [&](ComponentKind kind, const ComponentSpec& spec) {
    toml::table t = toml::parse(registry.effective_toml(kind, spec));
    t.insert_or_assign("type", spec.type);
    return t;
  };
  Specs specs = specs_of(root, method_names.front(), top);
  ExperimentSettings settings = experiment.settings;
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
  if (!axes_all.empty()) {
    toml::table sweep_table, zip_table;
    for (const auto& axis : axes_all) {
      for (const auto& [key, values] : axis.keys) {
        (axis.keys.size() > 1 ? zip_table : sweep_table).insert(key, values);
      }
    }
    if (!zip_table.empty()) sweep_table.insert("zip", std::move(zip_table));
    text += section_text({"sweep"}, std::move(sweep_table));
  }
  experiment.effective_toml = text;
  return experiment;
}

}  // namespace svdd
