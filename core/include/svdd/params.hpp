// Component parameters. Every component (model, reward, value, method) keeps
// its settings in a plain struct with in-class defaults and one visit()
// function that names each field once:
//
//   struct SvddParams {
//     int64_t candidates = 10;
//     double alpha = 0.0;
//     void visit(svdd::ParamVisitor& v) {
//       v.field("candidates", candidates, "M: candidates drawn per sample and step");
//       v.at_least("candidates", candidates, 1);
//       v.field("alpha", alpha, "temperature; 0 takes the argmax");
//       v.non_negative("alpha", alpha);
//     }
//   };
//
// The same visit() reads a TOML table strictly (unknown key or wrong type is
// an error naming file, table and key), lists parameters with their defaults
// for `svdd list`, and writes the effective configuration of a run.
#pragma once

#include <concepts>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "svdd/export.hpp"

namespace svdd {

// A file path in a component table. Relative paths are resolved against the
// experiment file's folder; reading refuses a path that does not exist.
// An empty path means "not given".
struct FilePath {
  std::filesystem::path path;
};

class ComponentConfig;

// A nested component: `value = "posterior_mean"` or
// `value = { type = "exact" }`. `config` holds the table (empty for the
// string form) and is read by the registry's factory for `type`.
struct ComponentSpec {
  std::string type;
  std::shared_ptr<const ComponentConfig> config;
};

class SVDD_API ParamVisitor {
 public:
  virtual ~ParamVisitor();
  virtual void field(std::string_view key, bool& value, std::string_view doc) = 0;
  virtual void field(std::string_view key, int64_t& value, std::string_view doc) = 0;
  virtual void field(std::string_view key, double& value, std::string_view doc) = 0;
  virtual void field(std::string_view key, std::string& value, std::string_view doc) = 0;
  virtual void field(std::string_view key, std::vector<int64_t>& value, std::string_view doc) = 0;
  virtual void field(std::string_view key, std::vector<double>& value, std::string_view doc) = 0;
  virtual void field(std::string_view key, std::vector<std::string>& value,
                     std::string_view doc) = 0;
  virtual void field(std::string_view key, FilePath& value, std::string_view doc) = 0;
  virtual void field(std::string_view key, ComponentSpec& value, std::string_view doc) = 0;
  // An array of components: [ "name", { type = "...", ... }, ... ].
  virtual void field(std::string_view key, std::vector<ComponentSpec>& value,
                     std::string_view doc) = 0;
  // A parameter kept as an int (a model's steps, a JPEG quality): read as a
  // TOML integer and refused outside int's range before it is narrowed, so
  // that 2^63-1 is never read as -1. Float parameters are refused unless
  // finite (nan, inf), for every component.
  void field(std::string_view key, int& value, std::string_view doc);
  // Refuses the value read for `key` unless `ok`: "<where> <key>: <message>".
  // The reading visitor acts on it; `svdd list` shows the message beside the
  // parameter; writing ignores it.
  virtual void require(bool ok, std::string_view key, std::string_view message) = 0;

  // Bounds and choices that write their own message (call after the field):
  void at_least(std::string_view key, int64_t value, int64_t low);  // "must be at least 1"
  void at_most(std::string_view key, int64_t value, int64_t high);  // "must be at most 1000000"
  void non_negative(std::string_view key, double value);            // "must be >= 0"
  void positive(std::string_view key, double value);                // "must be > 0"
  void in_range(std::string_view key, double value, double low,
                double high);  // closed: "must be in [0, 1]"
  void in_half_open_range(std::string_view key, double value, double low,
                          double high);  // "must be in [0, 1)"
  void in_open_range(std::string_view key, double value, double low,
                     double high);  // "must be in (0, 1)"
  // "must be a, b or c" (each choice written as given, e.g. quoted).
  void one_of(std::string_view key, std::string_view value,
              const std::vector<std::string_view>& choices);
};

// The most candidates, particles or rollouts a method or value may draw per
// sample (and step). Far beyond any useful setting, and small enough that its
// products with the batch size and the other counts stay far from int64's
// range; the runner refuses a product whose rows cannot fit in memory.
inline constexpr int64_t kMostPerSample = 1'000'000;

template <class P>
concept Parameters = std::default_initializable<P> && requires(P p, ParamVisitor& v) {
  p.visit(v);
};

// One parameter as `svdd list` shows it.
struct ParamDoc {
  std::string key;
  std::string type;  // "int", "float", "bool", "string", "path", "component", "[float]", ...
  std::string default_value;  // as TOML text
  std::string doc;
};

using VisitFn = std::function<void(ParamVisitor&)>;

// One component's TOML table together with where it came from, so errors can
// say "quickstart.toml: [methods.svdd_pm] candidates: must be at least 1".
class SVDD_API ComponentConfig {
 public:
  ~ComponentConfig();
  // "file.toml [table.path]"
  std::string where() const;
  // Reads every field named by `visit` from the table, then refuses keys
  // that no field named. Throws InputError naming file, table and key.
  void read(const VisitFn& visit) const;

  struct Impl;
  explicit ComponentConfig(std::unique_ptr<Impl> impl);
  const Impl& impl() const { return *impl_; }

 private:
  std::unique_ptr<Impl> impl_;
};

template <Parameters P>
P read_params(const ComponentConfig& config) {
  P params;
  config.read([&](ParamVisitor& v) { params.visit(v); });
  return params;
}

// A component given as the text of its TOML table (with `type`), for library
// use and tests; `name` is the table's name in messages, relative paths
// resolve against `base_dir`. InputError for bad TOML or a missing type.
SVDD_API ComponentSpec parse_component(const std::string& table_text, const std::string& name,
                                       const std::filesystem::path& base_dir = {});

// Lists the parameters of P with their defaults.
SVDD_API std::vector<ParamDoc> describe_params(const VisitFn& visit);

// The values of every field after reading `config` (defaults filled in,
// paths absolute) as the text of a TOML table.
SVDD_API std::string effective_params_toml(const ComponentConfig& config, const VisitFn& visit);

// Everything the registry keeps about a parameters struct: its documentation
// and how to write a table's effective values.
struct ParamSchema {
  std::vector<ParamDoc> docs;
  std::function<std::string(const ComponentConfig&)> effective_toml;
};

template <Parameters P>
ParamSchema schema_of() {
  P defaults;
  return {describe_params([&](ParamVisitor& v) { defaults.visit(v); }),
          [](const ComponentConfig& config) {
            P params;
            return effective_params_toml(config, [&](ParamVisitor& v) { params.visit(v); });
          }};
}

}  // namespace svdd
