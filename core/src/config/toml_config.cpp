// The TOML side of component tables: source positions, component specs,
// key paths, --set overrides, section text (see toml_config.hpp).
#include "config/toml_config.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <sstream>

#include "svdd/error.hpp"

namespace svdd {

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

std::shared_ptr<const SourceMap> SourceMap::redirected(
    const std::vector<std::pair<std::string, std::string>>& path_from) const {
  auto map = std::make_shared<SourceMap>(*this);
  for (const auto& [path, from] : path_from) {
    std::pair<uint32_t, uint32_t> position{0, 0};
    for (std::string p = from; !p.empty() && position.first == 0;) {
      if (auto it = positions.find(p); it != positions.end()) position = it->second;
      const auto dot = p.rfind('.');
      p = dot == std::string::npos ? "" : p.substr(0, dot);
    }
    const std::string below = path + ".";
    for (auto it = map->positions.lower_bound(below);
         it != map->positions.end() && it->first.rfind(below, 0) == 0;) {
      it = map->positions.erase(it);
    }
    map->positions[path] = position;
  }
  return map;
}

std::shared_ptr<const ComponentConfig> make_component_config(toml::table table,
                                                             ConfigOrigin origin) {
  auto impl = std::make_unique<ComponentConfig::Impl>();
  impl->table = std::move(table);
  impl->origin = std::move(origin);
  return std::make_shared<const ComponentConfig>(std::move(impl));
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

ComponentSpec parse_component(const std::string& table_text, const std::string& name,
                              const std::filesystem::path& base_dir) {
  toml::table table;
  try {
    table = toml::parse(table_text, name);
  } catch (const toml::parse_error& e) {
    throw InputError(fmt::format("{}: TOML syntax error: {}", name, e.description()));
  }
  toml::table root;
  root.insert(name, table);
  return component_spec_from(*root.get(name),
                             ConfigOrigin{SourceMap::of(root, name), name, base_dir});
}

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
  // A line break would let one --set carry more TOML (a table header, other
  // keys) that no key takes.
  if (assignment.find_first_of("\n\r") != std::string::npos) {
    throw InputError(fmt::format(
        "--set {}: the value holds a line break; give one TOML value on one line (an inline "
        "table for several keys: key={{ a = 1, b = 2 }})",
        assignment.substr(0, eq)));
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

toml::table read_toml_file(const std::filesystem::path& file, const std::string& what) {
  std::error_code error;
  const auto status = std::filesystem::status(file, error);
  if (!std::filesystem::exists(status)) {
    throw InputError(fmt::format("{} not found: {}", what, file.string()));
  }
  if (std::filesystem::is_directory(status)) {
    throw InputError(fmt::format("{} {} is a directory, not a TOML file", what, file.string()));
  }
  if (!std::filesystem::is_regular_file(status)) {
    throw InputError(
        fmt::format("{} {} is not a regular file (a FIFO or a device?)", what, file.string()));
  }
  if (std::FILE* probe = std::fopen(file.c_str(), "rb")) {
    std::fclose(probe);
  } else {
    throw InputError(
        fmt::format("cannot read {} {}: {}", what, file.string(), std::strerror(errno)));
  }
  try {
    return toml::parse_file(file.string());
  } catch (const toml::parse_error& e) {
    throw InputError(fmt::format("{}:{}:{}: TOML syntax error: {}", file.string(),
                                 e.source().begin.line, e.source().begin.column, e.description()));
  }
}

namespace {

// "key.path" -> value text, for telling which setting changed.
void flatten(const toml::table& table, const std::string& prefix,
             std::map<std::string, std::string>& out) {
  for (auto&& [key, node] : table) {
    const std::string path = prefix + std::string(key.str());
    if (const toml::table* sub = node.as_table()) {
      flatten(*sub, path + ".", out);
    } else {
      std::ostringstream os;
      node.visit([&](auto&& n) { os << n; });
      out[path] = os.str();
    }
  }
}

}  // namespace

std::string first_toml_difference(const std::string& saved, const std::string& now) {
  std::map<std::string, std::string> a, b;
  flatten(toml::parse(saved), "", a);
  flatten(toml::parse(now), "", b);
  for (auto& [key, value] : b) a.try_emplace(key, "(unset)");
  for (auto& [key, value] : a) {
    auto it = b.find(key);
    const std::string current = it == b.end() ? "(unset)" : it->second;
    if (current != value) return fmt::format("{} was {}, is now {}", key, value, current);
  }
  return "";
}

}  // namespace svdd
