// [sweep] expansion of an experiment file (see sweep.hpp).
#include "config/sweep.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <optional>
#include <sstream>

#include "svdd/error.hpp"

namespace svdd {
namespace {

// The top-level tables a sweep key may start with.
const std::vector<std::string> kSweepable{"experiment", "model",   "reward",
                                          "eval",       "metrics", "methods"};

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

// The zip axis: keys of [sweep.zip], all arrays of one length.
std::optional<SweepAxis> zip_axis(const toml::node& zip, const SourceMap& sources) {
  if (!zip.is_table()) {
    throw InputError(fmt::format("{}: [sweep] zip: expected a table of equally long arrays",
                                 sources.locate("sweep.zip")));
  }
  std::vector<std::pair<std::string, const toml::array*>> keys;
  flatten_sweep(*zip.as_table(), "", keys, sources);
  SweepAxis axis;
  axis.table = "sweep.zip";
  for (const auto& [key, values] : keys) {
    if (values->size() != keys.front().second->size()) {
      throw InputError(fmt::format("{}: [sweep.zip] {}: has {} values, {} has {}",
                                   sources.locate("sweep.zip." + key), key, values->size(),
                                   keys.front().first, keys.front().second->size()));
    }
    axis.keys.push_back({key, toml::array(*values)});
  }
  if (axis.keys.empty()) return std::nullopt;
  return axis;
}

void check_sweep_keys(const std::vector<SweepAxis>& axes, const toml::table& methods,
                      const std::vector<std::string>& method_names, const SourceMap& sources) {
  for (const auto& axis : axes) {
    for (const auto& [key, values] : axis.keys) {
      const auto parts = split_path(key);
      const bool known_top =
          std::find(kSweepable.begin(), kSweepable.end(), parts[0]) != kSweepable.end();
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
}

// The axes `method` varies along, with only the keys that concern it.
std::vector<SweepAxis> axes_of(const std::string& method, const std::vector<SweepAxis>& all) {
  std::vector<SweepAxis> axes;
  for (const auto& axis : all) {
    SweepAxis own;
    for (const auto& key : axis.keys) {
      const auto parts = split_path(key.first);
      if (parts[0] != "methods" || parts[1] == method) own.keys.push_back(key);
    }
    if (!own.keys.empty()) axes.push_back(std::move(own));
  }
  return axes;
}

// Refuses a sweep whose product gives one method more than kMostSweepRuns
// runs, before any point is built.
void check_sweep_size(const std::vector<SweepAxis>& all,
                      const std::vector<std::string>& method_names, const SourceMap& sources) {
  for (const auto& method : method_names) {
    size_t runs = 1;
    std::vector<std::string> sizes;
    for (const auto& axis : axes_of(method, all)) {
      sizes.push_back(std::to_string(axis.size()));
      runs = axis.size() > kMostSweepRuns / runs ? kMostSweepRuns + 1 : runs * axis.size();
    }
    if (runs > kMostSweepRuns) {
      throw InputError(fmt::format(
          "{}: [sweep] gives method '{}' more than {} runs (axes of {} values); sweep fewer "
          "values or split the experiment",
          sources.locate("sweep"), method, kMostSweepRuns, fmt::join(sizes, " x ")));
    }
  }
}

SweepPoint point_at(const toml::table& root, const std::string& method,
                    const std::vector<SweepAxis>& axes, const std::vector<size_t>& index) {
  SweepPoint point{root, "", "", {}};
  std::vector<std::string> label_parts, context_parts;
  const std::string own = "methods." + method + ".";
  for (size_t a = 0; a < axes.size(); ++a) {
    for (const auto& [key, values] : axes[a].keys) {
      const toml::node& value = *values.get(index[a]);
      set_path(point.root, key, value, fmt::format("[sweep] {}", key));
      point.swept.emplace_back(key, axes[a].table + "." + key);
      std::string short_key = key;
      if (short_key.rfind(own, 0) == 0) {
        short_key = short_key.substr(own.size());
      } else {
        context_parts.push_back(fmt::format("{}={}", key, value_label(value)));
      }
      label_parts.push_back(fmt::format("{}={}", short_key, value_label(value)));
    }
  }
  point.label =
      label_parts.empty() ? method : fmt::format("{}[{}]", method, fmt::join(label_parts, ","));
  point.context = fmt::format("{}", fmt::join(context_parts, ","));
  return point;
}

}  // namespace

std::vector<SweepAxis> read_sweep_axes(const toml::table& root, const toml::table& methods,
                                       const std::vector<std::string>& method_names,
                                       const SourceMap& sources) {
  std::vector<SweepAxis> axes;
  const toml::node* node = root.get("sweep");
  if (!node) return axes;
  if (!node->is_table())
    throw InputError(fmt::format("{}: 'sweep' must be a table", sources.locate("sweep")));
  toml::table plain = *node->as_table();
  if (const toml::node* zip = plain.get("zip")) {
    if (auto axis = zip_axis(*zip, sources)) axes.push_back(std::move(*axis));
    plain.erase("zip");
  }
  std::vector<std::pair<std::string, const toml::array*>> keys;
  flatten_sweep(plain, "", keys, sources);
  std::vector<std::string> names;
  for (const auto& key : keys) names.push_back(key.first);
  for (const auto& name : file_order(names, "sweep", sources)) {
    auto it =
        std::find_if(keys.begin(), keys.end(), [&](const auto& k) { return k.first == name; });
    axes.push_back(SweepAxis{{{it->first, toml::array(*it->second)}}});
  }
  check_sweep_keys(axes, methods, method_names, sources);
  check_sweep_size(axes, method_names, sources);
  return axes;
}

std::vector<SweepPoint> sweep_points(const toml::table& root, const std::string& method,
                                     const std::vector<SweepAxis>& all) {
  const std::vector<SweepAxis> axes = axes_of(method, all);
  std::vector<SweepPoint> points;
  std::vector<size_t> index(axes.size(), 0);
  while (true) {
    points.push_back(point_at(root, method, axes, index));
    size_t a = 0;
    for (; a < axes.size(); ++a) {
      if (++index[a] < axes[a].size()) break;
      index[a] = 0;
    }
    if (a == axes.size()) return points;
  }
}

toml::table sweep_table(const std::vector<SweepAxis>& axes) {
  toml::table sweep, zip;
  for (const auto& axis : axes) {
    for (const auto& [key, values] : axis.keys) {
      (axis.keys.size() > 1 ? zip : sweep).insert(key, values);
    }
  }
  if (!zip.empty()) sweep.insert("zip", std::move(zip));
  return sweep;
}

}  // namespace svdd
