// Private: [sweep] expansion of an experiment file. Every key of [sweep] is
// one axis; the keys of [sweep.zip] together form one axis whose arrays are
// walked in step (for whole tables that must change together, like model
// and reward). A method's runs are the product of the axes that concern it.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "config/toml_config.hpp"

namespace svdd {

// The most runs a sweep may give one method. Far beyond any comparison; a
// product of a few long arrays in a small file would otherwise expand into
// millions of copies of the experiment's tables and exhaust memory.
inline constexpr size_t kMostSweepRuns = 10'000;

// One sweep axis: one key, or several keys walked together ([sweep.zip]).
struct SweepAxis {
  std::vector<std::pair<std::string, toml::array>> keys;
  std::string table = "sweep";  // where its keys stand in the file: sweep or sweep.zip
  size_t size() const { return keys.front().second.size(); }
};

// The axes of root's [sweep] table (none without one), in file order with
// the zip axis first; refuses a key that is not a key of this experiment
// (`methods`: the [methods] table, `method_names` in file order for the
// message) and a sweep that gives a method more than kMostSweepRuns runs.
std::vector<SweepAxis> read_sweep_axes(const toml::table& root, const toml::table& methods,
                                       const std::vector<std::string>& method_names,
                                       const SourceMap& sources);

// One point of a method's sweep: the experiment's tables with the point's
// values set, the run label ("svdd[candidates=5]") and the context (the
// values of keys outside the method, shared with the other methods' runs).
struct SweepPoint {
  toml::table root;
  std::string label;
  std::string context;
  // Each key the point sets, with its own path in the file ("sweep.zip.model").
  std::vector<std::pair<std::string, std::string>> swept;
};

// Every point of `method`'s sweep, the first axis varying fastest.
std::vector<SweepPoint> sweep_points(const toml::table& root, const std::string& method,
                                     const std::vector<SweepAxis>& axes);

// The [sweep] table of the effective configuration.
toml::table sweep_table(const std::vector<SweepAxis>& axes);

}  // namespace svdd
