// Experiment files: parsing, --set overrides, [sweep] expansion, validation
// (see experiment.hpp).
#include "svdd/experiment.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <sstream>

#include "svdd/error.hpp"
#include "toml_config.hpp"

namespace svdd {

void ExperimentSettings::visit(ParamVisitor& v) {
  v.field("name", name, "name of the experiment (default output folder runs/<name>)");
  v.field("seed", seed, "master seed; every batch's generator derives from it and the run label");
  v.field("samples", samples, "output samples per run");
  v.require(samples >= 1, "samples", "must be at least 1");
  v.field("batch_size", batch_size, "output samples per batch (results are saved per batch)");
  v.require(batch_size >= 1, "batch_size", "must be at least 1");
  v.field("device", device, "\"cpu\" or \"cuda\" (when libtorch has CUDA)");
  v.require(device == "cpu" || device.rfind("cuda", 0) == 0, "device", "must be \"cpu\" or \"cuda\"");
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

namespace {

const std::vector<std::string> kTopLevel{"experiment", "model", "reward", "eval", "methods", "sweep"};

std::vector<std::string> split_path(const std::string& key) {
  std::vector<std::string> parts;
  std::stringstream ss(key);
  std::string part;
  while (std::getline(ss, part, '.')) parts.push_back(part);
  return parts;
}

// Sets root[a][b][c] = value, creating tables on the way.
void set_path(toml::table& root, const std::string& key, const toml::node& value,
              const std::string& what) {
  auto parts = split_path(key);
  if (parts.empty() || std::any_of(parts.begin(), parts.end(), [](auto& p) { return p.empty(); })) {
    throw InputError(fmt::format("{}: '{}' is not a key path like methods.svdd_pm.candidates", what, key));
  }
  toml::table* table = &root;
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    toml::node* next = table->get(parts[i]);
    if (!next) {
      table->insert(parts[i], toml::table{});
      next = table->get(parts[i]);
    }
    table = next->as_table();
    if (!table) {
      throw InputError(fmt::format("{}: '{}' is not a table, cannot set '{}'", what,
                                   fmt::join(parts.begin(), parts.begin() + i + 1, "."), key));
    }
  }
  value.visit([&](auto&& v) { table->insert_or_assign(parts.back(), v); });
}

toml::table parse_value(const std::string& text) {
  try {
    auto parsed = toml::parse("v = " + text);
    return parsed;
  } catch (const toml::parse_error&) {
    toml::table t;
    t.insert("v", text);  // a bare word is a string
    return t;
  }
}

void flatten_sweep(const toml::table& table, const std::string& prefix,
                   std::vector<std::pair<std::string, const toml::array*>>& out,
                   const std::string& file) {
  for (auto&& [key, node] : table) {
    std::string path = prefix.empty() ? std::string(key.str()) : prefix + "." + std::string(key.str());
    if (auto* sub = node.as_table()) {
      flatten_sweep(*sub, path, out, file);
    } else if (auto* array = node.as_array(); array && !array->empty()) {
      out.emplace_back(path, array);
    } else {
      throw InputError(fmt::format("{}: [sweep] {}: expected a non-empty array of values",
                                   location(file, &node), path));
    }
  }
}

std::string value_label(const toml::node& node) {
  if (auto s = node.value<std::string>(); s && node.is_string()) return *s;
  std::ostringstream os;
  node.visit([&](auto&& n) { os << n; });
  return os.str();
}

const toml::table& require_table(const toml::table& root, const std::string& key,
                                 const std::string& file) {
  const toml::node* node = root.get(key);
  if (!node) throw InputError(fmt::format("{}: missing [{}] table", file, key));
  if (!node->is_table()) {
    throw InputError(fmt::format("{}: '{}' must be a table", location(file, node), key));
  }
  return *node->as_table();
}

// Named sub-tables in the order they appear in the file.
std::vector<std::string> ordered_names(const toml::table& table) {
  std::vector<std::pair<std::pair<uint32_t, uint32_t>, std::string>> named;
  for (auto&& [key, node] : table) {
    named.push_back({{key.source().begin.line, key.source().begin.column}, std::string(key.str())});
  }
  std::stable_sort(named.begin(), named.end());
  std::vector<std::string> names;
  for (auto& [pos, name] : named) names.push_back(name);
  return names;
}

struct Specs {
  ComponentSpec model, reward, method;
  std::vector<std::pair<std::string, ComponentSpec>> evals;
};

Specs specs_of(const toml::table& root, const std::string& method, const std::string& file,
               const std::filesystem::path& base) {
  Specs specs;
  specs.model = component_spec_from(*root.get("model"), file, "model", base);
  specs.reward = component_spec_from(*root.get("reward"), file, "reward", base);
  const toml::table& methods = *root.get("methods")->as_table();
  specs.method = component_spec_from(*methods.get(method), file, "methods." + method, base);
  if (const toml::node* eval = root.get("eval")) {
    const toml::table* evals = eval->as_table();
    if (!evals) throw InputError(fmt::format("{}: 'eval' must be a table of tables", location(file, eval)));
    for (const auto& name : ordered_names(*evals)) {
      specs.evals.emplace_back(name, component_spec_from(*evals->get(name), file, "eval." + name, base));
    }
  }
  return specs;
}

ExperimentSettings read_settings(const toml::table& root, const std::string& file,
                                 const std::filesystem::path& base) {
  toml::table table;
  if (const toml::node* node = root.get("experiment")) {
    if (!node->is_table()) throw InputError(fmt::format("{}: 'experiment' must be a table", location(file, node)));
    table = *node->as_table();
  }
  auto config = make_component_config(table, file, "experiment", base);
  ExperimentSettings settings;
  settings.data_dir = default_data_dir();
  config->read([&](ParamVisitor& v) { settings.visit(v); });
  return settings;
}

toml::table reparse(const std::string& text) { return toml::parse(text); }

}  // namespace

Experiment load_experiment(const std::filesystem::path& file,
                           const std::vector<std::string>& overrides, const Registry& registry) {
  if (!std::filesystem::is_regular_file(file)) {
    throw InputError(fmt::format("experiment file not found: {}", file.string()));
  }
  const std::string name = file.string();
  const std::filesystem::path base = std::filesystem::absolute(file).parent_path();
  toml::table root;
  try {
    root = toml::parse_file(name);
  } catch (const toml::parse_error& e) {
    throw InputError(fmt::format("{}:{}:{}: TOML syntax error: {}", name, e.source().begin.line,
                                 e.source().begin.column, e.description()));
  }
  for (const auto& assignment : overrides) {
    const auto eq = assignment.find('=');
    if (eq == std::string::npos || eq == 0) {
      throw InputError(fmt::format("--set {}: expected key.path=value", assignment));
    }
    const std::string key = assignment.substr(0, eq);
    const toml::table parsed = parse_value(assignment.substr(eq + 1));
    set_path(root, key, *parsed.get("v"), fmt::format("--set {}", assignment));
  }
  for (auto&& [key, node] : root) {
    if (std::find(kTopLevel.begin(), kTopLevel.end(), key.str()) == kTopLevel.end()) {
      throw InputError(fmt::format("{}: unknown top-level key '{}' (known: {})", location(name, &node),
                                   key.str(), fmt::join(kTopLevel, ", ")));
    }
  }
  require_table(root, "model", name);
  require_table(root, "reward", name);
  const toml::table& methods = require_table(root, "methods", name);
  if (methods.empty()) throw InputError(fmt::format("{}: [methods] names no method", name));
  for (auto&& [key, node] : methods) {
    if (!node.is_table()) {
      throw InputError(fmt::format("{}: [methods] {}: expected a table like [methods.{}] with type = ...",
                                   location(name, &node), key.str(), key.str()));
    }
  }

  Experiment experiment;
  experiment.file = file;
  experiment.settings = read_settings(root, name, base);

  std::vector<std::pair<std::string, const toml::array*>> sweep;
  if (const toml::node* node = root.get("sweep")) {
    if (!node->is_table()) throw InputError(fmt::format("{}: 'sweep' must be a table", location(name, node)));
    flatten_sweep(*node->as_table(), "", sweep, name);
  }
  const auto method_names = ordered_names(methods);
  for (const auto& [key, values] : sweep) {
    const auto parts = split_path(key);
    const bool known_top = std::find(kTopLevel.begin(), kTopLevel.end() - 1, parts[0]) != kTopLevel.end() - 1;
    if (!known_top || parts.size() < 2 ||
        (parts[0] == "methods" && (parts.size() < 3 || !methods.get(parts[1])))) {
      throw InputError(fmt::format(
          "{}: [sweep] {}: not a key of this experiment (write e.g. methods.<name>.candidates or "
          "model.steps; methods here: {})",
          location(name, values), key, fmt::join(method_names, ", ")));
    }
  }

  for (const auto& method : method_names) {
    std::vector<std::pair<std::string, const toml::array*>> axes;
    for (const auto& axis : sweep) {
      const auto parts = split_path(axis.first);
      if (parts[0] != "methods" || parts[1] == method) axes.push_back(axis);
    }
    std::vector<size_t> index(axes.size(), 0);
    while (true) {
      toml::table run_root = root;
      std::vector<std::string> label_parts;
      for (size_t a = 0; a < axes.size(); ++a) {
        const toml::node& value = *axes[a].second->get(index[a]);
        set_path(run_root, axes[a].first, value, fmt::format("[sweep] {}", axes[a].first));
        std::string short_key = axes[a].first;
        const std::string own = "methods." + method + ".";
        if (short_key.rfind(own, 0) == 0) short_key = short_key.substr(own.size());
        label_parts.push_back(fmt::format("{}={}", short_key, value_label(value)));
      }
      RunPlan plan;
      plan.method = method;
      plan.label = label_parts.empty() ? method
                                       : fmt::format("{}[{}]", method, fmt::join(label_parts, ","));
      Specs specs = specs_of(run_root, method, name, base);
      plan.model = specs.model;
      plan.reward = specs.reward;
      plan.evals = specs.evals;
      plan.method_spec = specs.method;
      plan.settings = read_settings(run_root, name, base);
      // Validates every table now, before any work.
      registry.effective_toml(ComponentKind::model, plan.model);
      registry.effective_toml(ComponentKind::reward, plan.reward);
      for (const auto& [eval_name, spec] : plan.evals) registry.effective_toml(ComponentKind::reward, spec);
      registry.effective_toml(ComponentKind::method, plan.method_spec);
      experiment.runs.push_back(std::move(plan));

      size_t a = 0;
      for (; a < axes.size(); ++a) {
        if (++index[a] < axes[a].second->size()) break;
        index[a] = 0;
      }
      if (a == axes.size()) break;
    }
  }

  // The effective configuration: every component table with its defaults.
  toml::table effective;
  {
    ExperimentSettings s = experiment.settings;
    effective.insert("experiment", write_params([&](ParamVisitor& v) { s.visit(v); }));
    Specs specs = specs_of(root, method_names.front(), name, base);
    auto with_type = [&](ComponentKind kind, const ComponentSpec& spec) {
      toml::table t = reparse(registry.effective_toml(kind, spec));
      t.insert_or_assign("type", spec.type);
      return t;
    };
    effective.insert("model", with_type(ComponentKind::model, specs.model));
    effective.insert("reward", with_type(ComponentKind::reward, specs.reward));
    if (!specs.evals.empty()) {
      toml::table evals;
      for (const auto& [eval_name, spec] : specs.evals) {
        evals.insert(eval_name, with_type(ComponentKind::reward, spec));
      }
      effective.insert("eval", std::move(evals));
    }
    toml::table method_tables;
    for (const auto& method : method_names) {
      auto spec = component_spec_from(*methods.get(method), name, "methods." + method, base);
      method_tables.insert(method, with_type(ComponentKind::method, spec));
    }
    effective.insert("methods", std::move(method_tables));
    if (const toml::node* node = root.get("sweep")) effective.insert("sweep", *node);
  }
  std::ostringstream os;
  os << effective;
  experiment.effective_toml = os.str();
  return experiment;
}

}  // namespace svdd
