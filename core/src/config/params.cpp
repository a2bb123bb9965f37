// Reading, describing and writing component parameters (see params.hpp).
#include <fmt/format.h>

#include <algorithm>
#include <set>
#include <sstream>

#include "svdd/error.hpp"
#include "config/toml_config.hpp"

namespace svdd {

ParamVisitor::~ParamVisitor() = default;
ComponentConfig::~ComponentConfig() = default;
ComponentConfig::ComponentConfig(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

namespace {
void record_positions(const toml::table& table, const std::string& prefix, SourceMap& map) {
  for (auto&& [key, node] : table) {
    const std::string path =
        prefix.empty() ? std::string(key.str()) : prefix + "." + std::string(key.str());
    map.positions[path] = {key.source().begin.line, key.source().begin.column};
    if (const toml::table* sub = node.as_table()) record_positions(*sub, path, map);
  }
}
}  // namespace

std::shared_ptr<const SourceMap> SourceMap::of(const toml::table& root, std::string file) {
  auto map = std::make_shared<SourceMap>();
  map->file = std::move(file);
  record_positions(root, "", *map);
  return map;
}

std::string SourceMap::locate(const std::string& path) const {
  for (std::string p = path; !p.empty();) {
    auto it = positions.find(p);
    if (it != positions.end() && it->second.first > 0) {
      return fmt::format("{}:{}:{}", file, it->second.first, it->second.second);
    }
    const auto dot = p.rfind('.');
    p = dot == std::string::npos ? "" : p.substr(0, dot);
  }
  return file;
}

std::shared_ptr<const ComponentConfig> make_component_config(toml::table table,
                                                             ConfigOrigin origin) {
  auto impl = std::make_unique<ComponentConfig::Impl>();
  impl->table = std::move(table);
  impl->origin = std::move(origin);
  return std::make_shared<const ComponentConfig>(std::move(impl));
}

std::string ComponentConfig::where() const {
  return fmt::format("{} [{}]", impl_->origin.sources->locate(impl_->origin.table_path),
                     impl_->origin.table_path);
}

ComponentSpec component_spec_from(const toml::node& value, const ConfigOrigin& origin) {
  ComponentSpec spec;
  const std::string& path = origin.table_path;
  if (auto text = value.value<std::string>(); text && value.is_string()) {
    spec.type = *text;
    spec.config = make_component_config({}, origin);
    return spec;
  }
  const toml::table* table = value.as_table();
  if (!table) {
    throw InputError(fmt::format("{}: [{}] must be a component name or a table with 'type'",
                                 origin.sources->locate(path), path));
  }
  const toml::node* type = table->get("type");
  if (!type || !type->is_string()) {
    throw InputError(fmt::format("{}: [{}] type: missing (a string naming the component)",
                                 origin.sources->locate(path), path));
  }
  spec.type = *type->value<std::string>();
  toml::table rest = *table;
  rest.erase("type");
  spec.config = make_component_config(std::move(rest), origin);
  return spec;
}

namespace {

std::string toml_text(const toml::node& node) {
  std::ostringstream os;
  node.visit([&](auto&& n) { os << n; });
  return os.str();
}

template <class T>
toml::array to_array(const std::vector<T>& values) {
  toml::array array;
  for (const auto& v : values) array.push_back(v);
  return array;
}

// Reads a component table strictly.
class Reader final : public ParamVisitor {
 public:
  explicit Reader(const ComponentConfig::Impl& config) : config_(config) {}

  void field(std::string_view key, bool& value, std::string_view) override {
    if (auto* node = find(key)) value = expect<bool>(key, *node, "a boolean");
  }
  void field(std::string_view key, int64_t& value, std::string_view) override {
    if (auto* node = find(key)) value = expect<int64_t>(key, *node, "an integer");
  }
  void field(std::string_view key, double& value, std::string_view) override {
    if (auto* node = find(key)) {
      if (node->is_integer()) {
        value = static_cast<double>(*node->value<int64_t>());
      } else {
        value = expect<double>(key, *node, "a number");
      }
    }
  }
  void field(std::string_view key, std::string& value, std::string_view) override {
    if (auto* node = find(key)) value = expect<std::string>(key, *node, "a string");
  }
  void field(std::string_view key, std::vector<int64_t>& value, std::string_view) override {
    if (auto* node = find(key)) value = expect_array<int64_t>(key, *node, "integers");
  }
  void field(std::string_view key, std::vector<double>& value, std::string_view) override {
    if (auto* node = find(key)) value = expect_array<double>(key, *node, "numbers");
  }
  void field(std::string_view key, std::vector<std::string>& value, std::string_view) override {
    if (auto* node = find(key)) value = expect_array<std::string>(key, *node, "strings");
  }
  void field(std::string_view key, FilePath& value, std::string_view) override {
    if (auto* node = find(key)) {
      std::filesystem::path path = expect<std::string>(key, *node, "a path string");
      if (!path.empty() && path.is_relative()) path = config_.origin.base_dir / path;
      value.path = path.lexically_normal();
    }
    if (!value.path.empty() && !std::filesystem::exists(value.path)) {
      fail(key, fmt::format("file not found: {}", value.path.string()));
    }
  }
  void field(std::string_view key, ComponentSpec& value, std::string_view) override {
    if (auto* node = find(key)) {
      value = component_spec_from(*node, config_.origin.nested(std::string(key)));
    } else if (!value.config) {
      value.config = make_component_config({}, config_.origin.nested(std::string(key)));
    }
  }
  void field(std::string_view key, std::vector<ComponentSpec>& value, std::string_view) override {
    const toml::node* node = find(key);
    if (!node) return;
    const toml::array* array = node->as_array();
    if (!array) fail(key, "expected an array of components (names or tables with 'type')");
    value.clear();
    for (size_t i = 0; i < array->size(); ++i) {
      value.push_back(component_spec_from(*array->get(i),
                                          config_.origin.nested(fmt::format("{}[{}]", key, i))));
    }
  }
  void require(bool ok, std::string_view key, std::string_view message) override {
    if (!ok) fail(key, std::string(message));
  }

  void refuse_unknown_keys() const {
    for (auto&& [key, node] : config_.table) {
      if (known_.count(std::string(key.str()))) continue;
      std::string names;
      for (const auto& k : order_) names += (names.empty() ? "" : ", ") + k;
      throw InputError(fmt::format("{}: [{}] unknown key '{}' (known keys: {})", locate(key.str()),
                                   config_.origin.table_path, key.str(),
                                   names.empty() ? "none" : names));
    }
  }

 private:
  const toml::node* find(std::string_view key) {
    std::string k(key);
    if (known_.insert(k).second) order_.push_back(k);
    return config_.table.get(key);
  }

  std::string locate(std::string_view key) const {
    return config_.origin.sources->locate(config_.origin.table_path + "." + std::string(key));
  }

  [[noreturn]] void fail(std::string_view key, const std::string& message) const {
    throw InputError(
        fmt::format("{}: [{}] {}: {}", locate(key), config_.origin.table_path, key, message));
  }

  template <class T>
  T expect(std::string_view key, const toml::node& node, const char* what) const {
    if constexpr (std::is_same_v<T, int64_t>) {
      if (!node.is_integer()) fail(key, fmt::format("expected {}, got {}", what, toml_text(node)));
    } else if constexpr (std::is_same_v<T, double>) {
      if (!node.is_floating_point())
        fail(key, fmt::format("expected {}, got {}", what, toml_text(node)));
    } else if constexpr (std::is_same_v<T, bool>) {
      if (!node.is_boolean()) fail(key, fmt::format("expected {}, got {}", what, toml_text(node)));
    } else {
      if (!node.is_string()) fail(key, fmt::format("expected {}, got {}", what, toml_text(node)));
    }
    return *node.value<T>();
  }

  template <class T>
  std::vector<T> expect_array(std::string_view key, const toml::node& node,
                              const char* what) const {
    const toml::array* array = node.as_array();
    if (!array) fail(key, fmt::format("expected an array of {}", what));
    std::vector<T> out;
    for (const toml::node& element : *array) {
      if constexpr (std::is_same_v<T, double>) {
        if (element.is_integer()) {
          out.push_back(static_cast<double>(*element.value<int64_t>()));
          continue;
        }
      }
      out.push_back(expect<T>(key, element, what));
    }
    return out;
  }

  const ComponentConfig::Impl& config_;
  std::set<std::string> known_{"type"};
  std::vector<std::string> order_;
};

class Describer final : public ParamVisitor {
 public:
  std::vector<ParamDoc> docs;

  void field(std::string_view k, bool& v, std::string_view d) override {
    add(k, "bool", v ? "true" : "false", d);
  }
  void field(std::string_view k, int64_t& v, std::string_view d) override {
    add(k, "int", std::to_string(v), d);
  }
  void field(std::string_view k, double& v, std::string_view d) override {
    add(k, "float", fmt::format("{}", v), d);
  }
  void field(std::string_view k, std::string& v, std::string_view d) override {
    add(k, "string", fmt::format("\"{}\"", v), d);
  }
  void field(std::string_view k, std::vector<int64_t>& v, std::string_view d) override {
    add(k, "[int]", toml_text(to_array(v)), d);
  }
  void field(std::string_view k, std::vector<double>& v, std::string_view d) override {
    add(k, "[float]", fmt::format("[{}]", fmt::join(v, ", ")), d);
  }
  void field(std::string_view k, std::vector<std::string>& v, std::string_view d) override {
    add(k, "[string]", toml_text(to_array(v)), d);
  }
  void field(std::string_view k, FilePath& v, std::string_view d) override {
    add(k, "path", v.path.empty() ? "(none)" : fmt::format("\"{}\"", v.path.string()), d);
  }
  void field(std::string_view k, ComponentSpec& v, std::string_view d) override {
    add(k, "component", v.type.empty() ? "(none)" : fmt::format("\"{}\"", v.type), d);
  }
  void field(std::string_view k, std::vector<ComponentSpec>& v, std::string_view d) override {
    std::vector<std::string> types;
    for (const auto& spec : v) types.push_back(fmt::format("\"{}\"", spec.type));
    add(k, "[component]", fmt::format("[{}]", fmt::join(types, ", ")), d);
  }
  void require(bool, std::string_view, std::string_view) override {}

 private:
  void add(std::string_view key, std::string type, std::string value, std::string_view doc) {
    docs.push_back({std::string(key), std::move(type), std::move(value), std::string(doc)});
  }
};

class Writer final : public ParamVisitor {
 public:
  toml::table table;

  static toml::table spec_table(const ComponentSpec& spec) {
    toml::table nested = spec.config ? spec.config->impl().table : toml::table{};
    nested.insert_or_assign("type", spec.type);
    return nested;
  }

  void field(std::string_view k, bool& v, std::string_view) override {
    table.insert_or_assign(k, v);
  }
  void field(std::string_view k, int64_t& v, std::string_view) override {
    table.insert_or_assign(k, v);
  }
  void field(std::string_view k, double& v, std::string_view) override {
    table.insert_or_assign(k, v);
  }
  void field(std::string_view k, std::string& v, std::string_view) override {
    table.insert_or_assign(k, v);
  }
  void field(std::string_view k, std::vector<int64_t>& v, std::string_view) override {
    table.insert_or_assign(k, to_array(v));
  }
  void field(std::string_view k, std::vector<double>& v, std::string_view) override {
    table.insert_or_assign(k, to_array(v));
  }
  void field(std::string_view k, std::vector<std::string>& v, std::string_view) override {
    table.insert_or_assign(k, to_array(v));
  }
  void field(std::string_view k, FilePath& v, std::string_view) override {
    if (!v.path.empty()) table.insert_or_assign(k, v.path.string());
  }
  void field(std::string_view k, ComponentSpec& v, std::string_view) override {
    if (v.type.empty()) return;
    table.insert_or_assign(k, spec_table(v));
  }
  void field(std::string_view k, std::vector<ComponentSpec>& v, std::string_view) override {
    toml::array array;
    for (const auto& spec : v) array.push_back(spec_table(spec));
    table.insert_or_assign(k, std::move(array));
  }
  void require(bool, std::string_view, std::string_view) override {}
};

}  // namespace

std::vector<std::string> split_path(const std::string& key) {
  std::vector<std::string> parts;
  std::stringstream ss(key);
  std::string part;
  while (std::getline(ss, part, '.')) parts.push_back(part);
  return parts;
}

void set_path(toml::table& root, const std::string& key, const toml::node& value,
              const std::string& what) {
  auto parts = split_path(key);
  if (parts.empty() || std::any_of(parts.begin(), parts.end(), [](auto& p) { return p.empty(); })) {
    throw InputError(
        fmt::format("{}: '{}' is not a key path like methods.svdd_pm.candidates", what, key));
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

void apply_override(toml::table& root, const std::string& assignment) {
  const auto eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0) {
    throw InputError(fmt::format("--set {}: expected key.path=value", assignment));
  }
  toml::table parsed;
  try {
    parsed = toml::parse("v = " + assignment.substr(eq + 1));
  } catch (const toml::parse_error&) {
    parsed.insert("v", assignment.substr(eq + 1));  // a bare word is a string
  }
  set_path(root, assignment.substr(0, eq), *parsed.get("v"), fmt::format("--set {}", assignment));
}

std::string section_text(const std::vector<std::string>& path, toml::table table) {
  toml::table wrapped = std::move(table);
  for (auto it = path.rbegin(); it != path.rend(); ++it) {
    toml::table outer;
    outer.insert(*it, std::move(wrapped));
    wrapped = std::move(outer);
  }
  std::ostringstream os;
  os << wrapped;
  return os.str() + "\n\n";
}

void ComponentConfig::read(const VisitFn& visit) const {
  Reader reader(*impl_);
  visit(reader);
  reader.refuse_unknown_keys();
}

std::vector<ParamDoc> describe_params(const VisitFn& visit) {
  Describer describer;
  visit(describer);
  return describer.docs;
}

toml::table write_params(const VisitFn& visit) {
  Writer writer;
  visit(writer);
  return std::move(writer.table);
}

std::string effective_params_toml(const ComponentConfig& config, const VisitFn& visit) {
  config.read(visit);
  std::ostringstream os;
  os << write_params(visit);
  return os.str();
}

}  // namespace svdd
