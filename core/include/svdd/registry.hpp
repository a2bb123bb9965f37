// Registry: named factories for the seven kinds of component (models,
// rewards, value estimators, methods, set metrics, trainers, value-network
// architectures), one template keyed by
// the kind. Core registers its own ("svdd", "toy.categorical", ...); every
// plugin's registration function adds more. Names are stable "domain.component" strings; asking for
// an unknown name fails with the list of names that exist.
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <variant>
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

class Registry;
class ValueModel;  // svdd/value_model.hpp (includes torch's nn::Module)

// What a model that did not come with its own domain (torchscript_mdlm,
// torchscript_ddpm) asks of a domain a plugin names ("sequence.dna",
// "molecule.selfies", "image"), so that the plugin's rewards, metrics,
// decoding and drawing apply to its samples.
struct DomainRequest {
  std::vector<int64_t> shape;       // one sample's shape: [L] for tokens, e.g. [C, H, W]
  std::vector<std::string> tokens;  // the module's tokens by id (without the mask); may be empty
};
// Makes the named domain for a request, or throws InputError saying why it
// does not fit (a wrong token list, length or shape).
using DomainMaker = std::function<Domain(const DomainRequest&)>;

struct DomainInfo {
  std::string name;
  std::string summary;
  std::string origin;  // "core" or the plugin file
};

// Settings of the experiment that every factory may need.
struct BuildContext {
  std::string device = "cpu";      // torch device for networks and tensors
  int64_t chunk_rows = 4096;       // most rows in one batched network call
  std::filesystem::path data_dir;  // the shared data folder ($SVDD_DATA_DIR)
  // Builds a nested reward (the terms of a composite); the registry sets it
  // for every reward factory it calls.
  std::function<std::unique_ptr<RewardOracle>(const ComponentSpec&, const Domain&)> make_reward;
  // Makes a domain a plugin names (see DomainRequest); the registry sets it
  // for every model factory it calls.
  std::function<Domain(const std::string& name, const DomainRequest&)> make_domain;
  // Rebuilds the value-network architecture a card names (the value
  // "learned", classifier guidance); set by `svdd run` and `svdd train`.
  const Registry* registry = nullptr;
};

// What a value-network architecture is built for (see value_model.hpp).
struct ValueModelContext {
  const Domain& domain;  // the samples' domain (shape, vocabulary, mask)
  int num_steps = 0;     // T of the model the value is trained on
  // Fresh weights may be drawn from it (CPU); libtorch's default generator
  // is seeded from the training seed too before a factory runs, so
  // default-initialised modules are reproducible as well.
  at::Generator& generator;
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

enum class ComponentKind { model, reward, value, method, metric, trainer, value_network };
SVDD_API const char* to_string(ComponentKind kind);

// What a factory of each kind is given and what it makes. A factory takes
// its parsed parameters first, then the arguments listed here, of which it
// may leave out leading ones it does not use (a reward may take
// (params, domain) or (params) alone):
//   model:   (const P&, const BuildContext&)                -> unique_ptr<DiffusionModel>
//   reward:  (const P&, const BuildContext&, const Domain&) -> unique_ptr<RewardOracle>
//   value:   (const P&, const ValueDeps&)                   -> unique_ptr<ValueEstimator>
//   method:  (const P&, const MethodDeps&)                  -> unique_ptr<Method>
//   metric:  (const P&, const BuildContext&, const Domain&) -> unique_ptr<SampleSetMetric>
//   trainer: (const P&, const TrainContext&)                -> void (writes the checkpoint)
//   value_network: (const P&, const ValueModelContext&)     -> shared_ptr<ValueModel>
template <ComponentKind K>
struct ComponentTraits;
template <>
struct ComponentTraits<ComponentKind::model> {
  using Product = std::unique_ptr<DiffusionModel>;
  using Maker = std::function<Product(const ComponentConfig&, const BuildContext&)>;
};
template <>
struct ComponentTraits<ComponentKind::reward> {
  using Product = std::unique_ptr<RewardOracle>;
  using Maker = std::function<Product(const ComponentConfig&, const BuildContext&, const Domain&)>;
};
template <>
struct ComponentTraits<ComponentKind::value> {
  using Product = std::unique_ptr<ValueEstimator>;
  using Maker = std::function<Product(const ComponentConfig&, const ValueDeps&)>;
};
template <>
struct ComponentTraits<ComponentKind::method> {
  using Product = std::unique_ptr<Method>;
  using Maker = std::function<Product(const ComponentConfig&, const MethodDeps&)>;
};
template <>
struct ComponentTraits<ComponentKind::metric> {
  using Product = std::unique_ptr<SampleSetMetric>;
  using Maker = std::function<Product(const ComponentConfig&, const BuildContext&, const Domain&)>;
};
template <>
struct ComponentTraits<ComponentKind::trainer> {
  using Product = void;
  using Maker = std::function<void(const ComponentConfig&, const TrainContext&)>;
};
template <>
struct ComponentTraits<ComponentKind::value_network> {
  using Product = std::shared_ptr<ValueModel>;
  using Maker = std::function<Product(const ComponentConfig&, const ValueModelContext&)>;
};

// Any kind's maker, as the registry stores it.
using AnyMaker = std::variant<
    ComponentTraits<ComponentKind::model>::Maker, ComponentTraits<ComponentKind::reward>::Maker,
    ComponentTraits<ComponentKind::value>::Maker, ComponentTraits<ComponentKind::method>::Maker,
    ComponentTraits<ComponentKind::metric>::Maker, ComponentTraits<ComponentKind::trainer>::Maker,
    ComponentTraits<ComponentKind::value_network>::Maker>;

struct ComponentInfo {
  std::string name;
  ComponentKind kind;
  std::string summary;
  std::vector<ParamDoc> params;
  std::string origin;  // "core" or the plugin file
};

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

namespace detail {
// Calls make(params, args...), leaving out leading arguments it does not take.
template <class F, class P, class First, class... Rest>
decltype(auto) call_factory(const F& make, const P& params, const First& first,
                            const Rest&... rest) {
  if constexpr (std::is_invocable_v<const F&, const P&, const First&, const Rest&...>) {
    return make(params, first, rest...);
  } else {
    return call_factory(make, params, rest...);
  }
}
template <class F, class P>
decltype(auto) call_factory(const F& make, const P& params) {
  static_assert(std::is_invocable_v<const F&, const P&>,
                "this factory's arguments do not fit its kind (see ComponentTraits)");
  return make(params);
}
}  // namespace detail

class SVDD_API Registry {
 public:
  Registry();
  ~Registry();
  Registry(Registry&&) noexcept;
  Registry& operator=(Registry&&) noexcept;

  // Registers `make` under `name` (a stable "domain.component" string) as a
  // component of kind K with parameters P, e.g.
  //   registry.add<ComponentKind::reward, QedParams>("molecule.qed", "QED",
  //       [](const QedParams& p) { return std::make_unique<Qed>(p); });
  // `summary` is what `svdd list` shows. Refuses a name registered twice.
  template <ComponentKind K, Parameters P, class F>
  void add(std::string name, std::string summary, F make) {
    if constexpr (K == ComponentKind::trainer) {
      add_maker(K, std::move(name), std::move(summary), schema_of<TrainerTable<P>>(),
                typename ComponentTraits<K>::Maker([make](const ComponentConfig& config,
                                                          const TrainContext& context) {
                  detail::call_factory(make, read_params<TrainerTable<P>>(config).params, context);
                }));
    } else {
      add_maker(K, std::move(name), std::move(summary), schema_of<P>(),
                typename ComponentTraits<K>::Maker(
                    [make](const ComponentConfig& config, const auto&... args) {
                      return detail::call_factory(make, read_params<P>(config), args...);
                    }));
    }
  }
  void add_maker(ComponentKind kind, std::string name, std::string summary, ParamSchema params,
                 AnyMaker make);

  // Builds the component `spec` names, e.g. make<ComponentKind::model>(spec,
  // build). Throws InputError for an unknown name (listing the known ones)
  // or a bad table (naming file, table and key); any error while building
  // gets the component's file and table in front. A reward's BuildContext
  // gets make_reward (for the terms of a composite).
  template <ComponentKind K, class... Args>
  typename ComponentTraits<K>::Product make(const ComponentSpec& spec, const Args&... args) const {
    static_assert(K != ComponentKind::trainer, "trainers run through train()");
    const auto& factory = std::get<typename ComponentTraits<K>::Maker>(maker(K, spec));
    const auto table = config(spec);
    typename ComponentTraits<K>::Product made;
    if constexpr (K == ComponentKind::reward) {
      build_reward(
          spec,
          [&](const BuildContext& nested, const Domain& domain) {
            made = factory(*table, nested, domain);
          },
          args...);
    } else if constexpr (K == ComponentKind::model) {
      build_model(
          spec, [&](const BuildContext& nested) { made = factory(*table, nested); }, args...);
    } else {
      located(spec, [&] { made = factory(*table, args...); });
    }
    return made;
  }
  // Runs the trainer `spec` names. Only reading its table is located: a
  // failure while training keeps its own kind.
  void train(const ComponentSpec& spec, const TrainContext& context) const;

  bool contains(ComponentKind kind, const std::string& name) const;
  // The effective parameters of a component table as TOML text (see
  // ParamSchema); throws like the builders.
  std::string effective_toml(ComponentKind kind, const ComponentSpec& spec) const;
  std::vector<ComponentInfo> components() const;
  // Registers a domain models can name (see DomainRequest), e.g.
  //   registry.add_domain("sequence.dna", "DNA letters", make_dna_domain);
  // Refuses a name registered twice.
  void add_domain(std::string name, std::string summary, DomainMaker make);
  // The named domain for `request`; InputError for an unknown name (listing
  // the known ones) or a request the domain refuses.
  Domain make_domain(const std::string& name, const DomainRequest& request) const;
  std::vector<DomainInfo> domains() const;
  // Moves every component and domain of `other` in, marked with `origin`.
  // Refuses (and adds nothing) if a name already exists.
  void merge(Registry&& other, const std::string& origin);

 private:
  const AnyMaker& maker(ComponentKind kind, const ComponentSpec& spec) const;
  // The table of `spec` (an empty one for the string form).
  static std::shared_ptr<const ComponentConfig> config(const ComponentSpec& spec);
  // Runs build(); errors that do not yet say where they come from get the
  // component's file and table in front.
  static void located(const ComponentSpec& spec, const std::function<void()>& build);
  void build_reward(const ComponentSpec& spec,
                    const std::function<void(const BuildContext&, const Domain&)>& build,
                    const BuildContext& context, const Domain& domain) const;
  void build_model(const ComponentSpec& spec, const std::function<void(const BuildContext&)>& build,
                   const BuildContext& context) const;

  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The registry with core's built-in components (methods, values, toys).
SVDD_API void register_core_components(Registry& registry);

}  // namespace svdd
