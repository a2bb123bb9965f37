// Reading, describing and writing component parameters (see params.hpp).
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>
#include <sstream>

#include "config/toml_config.hpp"
#include "svdd/error.hpp"

namespace svdd {

ParamVisitor::~ParamVisitor() = default;
ComponentConfig::~ComponentConfig() = default;
ComponentConfig::ComponentConfig(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

std::string ComponentConfig::where() const {
  return fmt::format("{} [{}]", impl_->origin.sources->locate(impl_->origin.table_path),
                     impl_->origin.table_path);
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
        value = finite(key, expect<double>(key, *node, "a number"));
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
      if constexpr (std::is_same_v<T, double>) {
        out.push_back(finite(key, expect<T>(key, element, what)));
      } else {
        out.push_back(expect<T>(key, element, what));
      }
    }
    return out;
  }

  // Every float parameter is a finite number. TOML's nan and inf would pass
  // a parameter without a bound (a model's sharpness) and inf every lower
  // bound (an SVDD alpha), then fail deep inside a run; refusing them here
  // covers every component at once. No component takes an infinity today.
  double finite(std::string_view key, double value) const {
    if (!std::isfinite(value)) fail(key, fmt::format("must be a finite number, got {}", value));
    return value;
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
  // The rule shows beside the parameter it constrains.
  void require(bool, std::string_view key, std::string_view message) override {
    for (auto it = docs.rbegin(); it != docs.rend(); ++it) {
      if (it->key != key) continue;
      it->doc += fmt::format("{}{}", it->doc.empty() ? "" : "; ", message);
      return;
    }
  }

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

void ParamVisitor::at_least(std::string_view key, int64_t value, int64_t low) {
  require(value >= low, key, fmt::format("must be at least {}", low));
}

void ParamVisitor::at_most(std::string_view key, int64_t value, int64_t high) {
  require(value <= high, key, fmt::format("must be at most {}", high));
}

void ParamVisitor::field(std::string_view key, int& value, std::string_view doc) {
  int64_t wide = value;
  field(key, wide, doc);
  // Only a value read from a table can be out of range; a rule added to
  // every int parameter's documentation would say nothing.
  if (wide < std::numeric_limits<int>::min() || wide > std::numeric_limits<int>::max()) {
    require(false, key,
            fmt::format("must be in [{}, {}]", std::numeric_limits<int>::min(),
                        std::numeric_limits<int>::max()));
    return;  // writing ignores the rule; the value stays as it was
  }
  value = static_cast<int>(wide);
}

void ParamVisitor::non_negative(std::string_view key, double value) {
  require(value >= 0, key, "must be >= 0");
}

void ParamVisitor::positive(std::string_view key, double value) {
  require(value > 0, key, "must be > 0");
}

void ParamVisitor::in_range(std::string_view key, double value, double low, double high) {
  require(value >= low && value <= high, key, fmt::format("must be in [{}, {}]", low, high));
}

void ParamVisitor::in_half_open_range(std::string_view key, double value, double low, double high) {
  require(value >= low && value < high, key, fmt::format("must be in [{}, {})", low, high));
}

void ParamVisitor::in_open_range(std::string_view key, double value, double low, double high) {
  require(value > low && value < high, key, fmt::format("must be in ({}, {})", low, high));
}

void ParamVisitor::one_of(std::string_view key, std::string_view value,
                          const std::vector<std::string_view>& choices) {
  const bool ok = std::find(choices.begin(), choices.end(), value) != choices.end();
  std::string text = "must be ";
  for (size_t i = 0; i < choices.size(); ++i) {
    text += i == 0 ? "" : (i + 1 == choices.size() ? " or " : ", ");
    text += choices[i];
  }
  require(ok, key, fmt::format("{}, not \"{}\"", text, value));
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
