// Registry: named factories for the four kinds of component. Core registers
// its own ("svdd", "toy.categorical", ...); every plugin's registration
// function adds more. Names are stable "domain.component" strings; asking for
// an unknown name fails with the list of names that exist.
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "svdd/diffusion_model.hpp"
#include "svdd/export.hpp"
#include "svdd/method.hpp"
#include "svdd/params.hpp"
#include "svdd/reward_oracle.hpp"
#include "svdd/sample_set_metric.hpp"
#include "svdd/trainer.hpp"
#include "svdd/value_estimator.hpp"

namespace svdd {

// Settings of the experiment that every factory may need.
struct BuildContext {
  std::string device = "cpu";      // torch device for networks and tensors
  int64_t chunk_rows = 4096;       // most rows in one batched network call
  std::filesystem::path data_dir;  // the shared data folder ($SVDD_DATA_DIR)
  // Builds a nested reward (the terms of a composite); the registry sets it
  // for every reward factory it calls.
  std::function<std::unique_ptr<RewardOracle>(const ComponentSpec&, const Domain&)> make_reward;
};

// What a value estimator is built from. `alpha` is the guiding method's
// temperature (the exact soft value depends on it).
struct ValueDeps {
  DiffusionModel& model;
  RewardOracle& reward;
  double alpha;
  const BuildContext& build;
};

// What a method is built from; `make_value` builds the value estimator named
// by a ComponentSpec (counted and bound to this run's model and reward).
struct MethodDeps {
  DiffusionModel& model;
  RewardOracle& reward;
  std::function<std::unique_ptr<ValueEstimator>(const ComponentSpec&, double alpha)> make_value;
  const BuildContext& build;
  // Denoiser rows per sample spent by an earlier run of the same experiment
  // (named by its run label, or its method name when that has one run), for
  // compute matching. Returns nullopt while the experiment is validated
  // before any run; throws InputError for an unknown run or one that does
  // not come earlier. Empty outside experiments.
  std::function<std::optional<double>(const std::string&)> measured_rows_per_sample;
  // Builds another reward for this model (a differentiable surrogate for
  // DPS), counted like the run's reward. Empty outside experiments.
  std::function<std::unique_ptr<RewardOracle>(const ComponentSpec&)> make_reward;
};

enum class ComponentKind { model, reward, value, method, metric, trainer };
SVDD_API const char* to_string(ComponentKind kind);

struct ComponentInfo {
  std::string name;
  ComponentKind kind;
  std::string summary;
  std::vector<ParamDoc> params;
  std::string origin;  // "core" or the plugin file
};

using ModelMaker =
    std::function<std::unique_ptr<DiffusionModel>(const ComponentConfig&, const BuildContext&)>;
using RewardMaker = std::function<std::unique_ptr<RewardOracle>(
    const ComponentConfig&, const BuildContext&, const Domain&)>;
using ValueMaker =
    std::function<std::unique_ptr<ValueEstimator>(const ComponentConfig&, const ValueDeps&)>;
using MethodMaker =
    std::function<std::unique_ptr<Method>(const ComponentConfig&, const MethodDeps&)>;
using MetricMaker = std::function<std::unique_ptr<SampleSetMetric>(
    const ComponentConfig&, const BuildContext&, const Domain&)>;
using TrainerMaker = std::function<void(const ComponentConfig&, const TrainContext&)>;

// A trainer's table: its parameters plus `output`, the checkpoint, which
// core resolves (relative to the training file's folder; `--out` wins).
template <Parameters P>
struct TrainerTable {
  P params;
  std::string output;
  void visit(ParamVisitor& v) {
    v.field("output", output,
            "the checkpoint to write, relative to the training file's folder (default: the "
            "file's name with .pt); its card goes beside it");
    params.visit(v);
  }
};

class SVDD_API Registry {
 public:
  Registry();
  ~Registry();
  Registry(Registry&&) noexcept;
  Registry& operator=(Registry&&) noexcept;

  // Typed registration: the factory receives the parsed parameters.
  //   make(const P&, const BuildContext&)                  -> unique_ptr<DiffusionModel>
  //   make(const P&, const BuildContext&, const Domain&)   -> unique_ptr<RewardOracle>
  //   make(const P&, const ValueDeps&)                     -> unique_ptr<ValueEstimator>
  //   make(const P&, const MethodDeps&)                    -> unique_ptr<Method>
  //   make(const P&, const BuildContext&, const Domain&)   -> unique_ptr<SampleSetMetric>
  //   train(const P&, const TrainContext&)                 -> void (writes the checkpoint)
  template <Parameters P, class F>
  void add_model(std::string name, std::string summary, F make) {
    add_model_maker(std::move(name), std::move(summary), schema_of<P>(),
                    [make](const ComponentConfig& c, const BuildContext& b) {
                      return make(read_params<P>(c), b);
                    });
  }
  template <Parameters P, class F>
  void add_reward(std::string name, std::string summary, F make) {
    add_reward_maker(std::move(name), std::move(summary), schema_of<P>(),
                     [make](const ComponentConfig& c, const BuildContext& b, const Domain& d) {
                       return make(read_params<P>(c), b, d);
                     });
  }
  template <Parameters P, class F>
  void add_value(std::string name, std::string summary, F make) {
    add_value_maker(std::move(name), std::move(summary), schema_of<P>(),
                    [make](const ComponentConfig& c, const ValueDeps& d) {
                      return make(read_params<P>(c), d);
                    });
  }
  template <Parameters P, class F>
  void add_method(std::string name, std::string summary, F make) {
    add_method_maker(std::move(name), std::move(summary), schema_of<P>(),
                     [make](const ComponentConfig& c, const MethodDeps& d) {
                       return make(read_params<P>(c), d);
                     });
  }

  template <Parameters P, class F>
  void add_metric(std::string name, std::string summary, F make) {
    add_metric_maker(std::move(name), std::move(summary), schema_of<P>(),
                     [make](const ComponentConfig& c, const BuildContext& b, const Domain& d) {
                       return make(read_params<P>(c), b, d);
                     });
  }
  template <Parameters P, class F>
  void add_trainer(std::string name, std::string summary, F train) {
    add_trainer_maker(std::move(name), std::move(summary), schema_of<TrainerTable<P>>(),
                      [train](const ComponentConfig& c, const TrainContext& context) {
                        train(read_params<TrainerTable<P>>(c).params, context);
                      });
  }

  void add_model_maker(std::string name, std::string summary, ParamSchema params, ModelMaker make);
  void add_reward_maker(std::string name, std::string summary, ParamSchema params,
                        RewardMaker make);
  void add_value_maker(std::string name, std::string summary, ParamSchema params, ValueMaker make);
  void add_method_maker(std::string name, std::string summary, ParamSchema params,
                        MethodMaker make);
  void add_metric_maker(std::string name, std::string summary, ParamSchema params,
                        MetricMaker make);
  void add_trainer_maker(std::string name, std::string summary, ParamSchema params,
                         TrainerMaker make);

  // Builders. Throw InputError for an unknown name (listing the known ones)
  // or a bad table (naming file, table and key).
  std::unique_ptr<DiffusionModel> make_model(const ComponentSpec& spec,
                                             const BuildContext& build) const;
  std::unique_ptr<RewardOracle> make_reward(const ComponentSpec& spec, const BuildContext& build,
                                            const Domain& domain) const;
  std::unique_ptr<ValueEstimator> make_value(const ComponentSpec& spec,
                                             const ValueDeps& deps) const;
  std::unique_ptr<Method> make_method(const ComponentSpec& spec, const MethodDeps& deps) const;
  std::unique_ptr<SampleSetMetric> make_metric(const ComponentSpec& spec, const BuildContext& build,
                                               const Domain& domain) const;
  // Runs the trainer `spec` names.
  void train(const ComponentSpec& spec, const TrainContext& context) const;

  bool contains(ComponentKind kind, const std::string& name) const;
  // The effective parameters of a component table as TOML text (see
  // ParamSchema); throws like the builders.
  std::string effective_toml(ComponentKind kind, const ComponentSpec& spec) const;
  std::vector<ComponentInfo> components() const;
  // Moves every component of `other` in, marked with `origin`. Refuses (and
  // adds nothing) if a name already exists.
  void merge(Registry&& other, const std::string& origin);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The registry with core's built-in components (methods, values, toys).
SVDD_API void register_core_components(Registry& registry);

}  // namespace svdd
