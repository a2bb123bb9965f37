// Registry of named component factories (see registry.hpp).
#include "svdd/registry.hpp"

#include <fmt/format.h>

#include <map>
#include <variant>

#include "svdd/error.hpp"
#include "config/toml_config.hpp"

namespace svdd {

const char* to_string(ComponentKind kind) {
  switch (kind) {
    case ComponentKind::model:
      return "model";
    case ComponentKind::reward:
      return "reward";
    case ComponentKind::value:
      return "value";
    case ComponentKind::method:
      return "method";
    case ComponentKind::metric:
      return "metric";
    case ComponentKind::trainer:
      return "trainer";
  }
  return "?";
}

struct Registry::Impl {
  struct Entry {
    ComponentKind kind;
    std::string summary;
    ParamSchema schema;
    std::string origin = "core";
    std::variant<ModelMaker, RewardMaker, ValueMaker, MethodMaker, MetricMaker, TrainerMaker> make;
  };
  std::map<std::string, Entry> entries;  // key: "<kind>/<name>"

  static std::string key(ComponentKind kind, const std::string& name) {
    return fmt::format("{}/{}", to_string(kind), name);
  }

  void add(ComponentKind kind, std::string name, std::string summary, ParamSchema schema,
           decltype(Entry::make) make) {
    auto k = key(kind, name);
    if (entries.count(k)) {
      throw InputError(fmt::format("{} '{}' is registered twice", to_string(kind), name));
    }
    entries.emplace(k, Entry{kind, std::move(summary), std::move(schema), "core", std::move(make)});
  }

  const Entry& find(ComponentKind kind, const ComponentSpec& spec) const {
    auto it = entries.find(key(kind, spec.type));
    if (it != entries.end()) return it->second;
    std::string names;
    for (const auto& [k, entry] : entries) {
      if (entry.kind != kind) continue;
      names += (names.empty() ? "" : ", ") + k.substr(k.find('/') + 1);
    }
    std::string where = spec.config ? spec.config->where() + " type: " : "";
    throw InputError(fmt::format("{}unknown {} '{}' (known: {})", where, to_string(kind), spec.type,
                                 names.empty() ? "none" : names));
  }
};

Registry::Registry() : impl_(std::make_unique<Impl>()) {}
Registry::~Registry() = default;
Registry::Registry(Registry&&) noexcept = default;
Registry& Registry::operator=(Registry&&) noexcept = default;

void Registry::add_model_maker(std::string n, std::string s, ParamSchema p, ModelMaker m) {
  impl_->add(ComponentKind::model, std::move(n), std::move(s), std::move(p), std::move(m));
}
void Registry::add_reward_maker(std::string n, std::string s, ParamSchema p, RewardMaker m) {
  impl_->add(ComponentKind::reward, std::move(n), std::move(s), std::move(p), std::move(m));
}
void Registry::add_value_maker(std::string n, std::string s, ParamSchema p, ValueMaker m) {
  impl_->add(ComponentKind::value, std::move(n), std::move(s), std::move(p), std::move(m));
}
void Registry::add_method_maker(std::string n, std::string s, ParamSchema p, MethodMaker m) {
  impl_->add(ComponentKind::method, std::move(n), std::move(s), std::move(p), std::move(m));
}

void Registry::add_metric_maker(std::string n, std::string s, ParamSchema p, MetricMaker m) {
  impl_->add(ComponentKind::metric, std::move(n), std::move(s), std::move(p), std::move(m));
}
void Registry::add_trainer_maker(std::string n, std::string s, ParamSchema p, TrainerMaker m) {
  impl_->add(ComponentKind::trainer, std::move(n), std::move(s), std::move(p), std::move(m));
}

namespace {

// Runs a factory; errors that do not yet say where they come from get the
// component's file and table in front. Foreign exceptions (a checkpoint that
// fails to load in libtorch, say) become InputErrors too: the cause is the
// configuration a user wrote.
template <class F>
auto located(const ComponentSpec& spec, F&& make) {
  const std::string where = spec.config ? spec.config->where() : spec.type;
  const std::string file = spec.config ? spec.config->impl().origin.file() : "";
  try {
    return make();
  } catch (const InputError& e) {
    if (!file.empty() && std::string(e.what()).find(file) != std::string::npos) throw;
    throw InputError(fmt::format("{}: {}", where, e.what()));
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    throw InputError(fmt::format("{}: {}", where, e.what()));
  }
}

std::shared_ptr<const ComponentConfig> config_of(const ComponentSpec& spec) {
  if (spec.config) return spec.config;
  static const auto nowhere = SourceMap::of({}, "<none>");
  return make_component_config({}, ConfigOrigin{nowhere, spec.type, {}});
}

}  // namespace

std::unique_ptr<DiffusionModel> Registry::make_model(const ComponentSpec& spec,
                                                     const BuildContext& build) const {
  const auto& entry = impl_->find(ComponentKind::model, spec);
  return located(spec, [&] { return std::get<ModelMaker>(entry.make)(*config_of(spec), build); });
}

std::unique_ptr<RewardOracle> Registry::make_reward(const ComponentSpec& spec,
                                                    const BuildContext& build,
                                                    const Domain& domain) const {
  const auto& entry = impl_->find(ComponentKind::reward, spec);
  // Rewards made of rewards (composite) build their terms through here too.
  BuildContext nested = build;
  nested.make_reward = [this, build](const ComponentSpec& term, const Domain& d) {
    return make_reward(term, build, d);
  };
  return located(
      spec, [&] { return std::get<RewardMaker>(entry.make)(*config_of(spec), nested, domain); });
}

std::unique_ptr<ValueEstimator> Registry::make_value(const ComponentSpec& spec,
                                                     const ValueDeps& deps) const {
  const auto& entry = impl_->find(ComponentKind::value, spec);
  return located(spec, [&] { return std::get<ValueMaker>(entry.make)(*config_of(spec), deps); });
}

std::unique_ptr<Method> Registry::make_method(const ComponentSpec& spec,
                                              const MethodDeps& deps) const {
  const auto& entry = impl_->find(ComponentKind::method, spec);
  return located(spec, [&] { return std::get<MethodMaker>(entry.make)(*config_of(spec), deps); });
}

std::unique_ptr<SampleSetMetric> Registry::make_metric(const ComponentSpec& spec,
                                                       const BuildContext& build,
                                                       const Domain& domain) const {
  const auto& entry = impl_->find(ComponentKind::metric, spec);
  return located(
      spec, [&] { return std::get<MetricMaker>(entry.make)(*config_of(spec), build, domain); });
}

void Registry::train(const ComponentSpec& spec, const TrainContext& context) const {
  const auto& entry = impl_->find(ComponentKind::trainer, spec);
  // Only reading the table is located: a failure while training is not the
  // configuration's fault and keeps its own kind.
  const auto config = config_of(spec);
  std::get<TrainerMaker>(entry.make)(*config, context);
}

bool Registry::contains(ComponentKind kind, const std::string& name) const {
  return impl_->entries.count(Impl::key(kind, name)) > 0;
}

std::string Registry::effective_toml(ComponentKind kind, const ComponentSpec& spec) const {
  const auto& entry = impl_->find(kind, spec);
  return located(spec, [&] { return entry.schema.effective_toml(*config_of(spec)); });
}

std::vector<ComponentInfo> Registry::components() const {
  std::vector<ComponentInfo> out;
  for (const auto& [key, entry] : impl_->entries) {
    out.push_back({key.substr(key.find('/') + 1), entry.kind, entry.summary, entry.schema.docs,
                   entry.origin});
  }
  return out;
}

void Registry::merge(Registry&& other, const std::string& origin) {
  for (const auto& [key, entry] : other.impl_->entries) {
    if (impl_->entries.count(key)) {
      throw InputError(fmt::format("{} '{}' is already registered (by {})", to_string(entry.kind),
                                   key.substr(key.find('/') + 1), impl_->entries.at(key).origin));
    }
  }
  for (auto& [key, entry] : other.impl_->entries) {
    entry.origin = origin;
    impl_->entries.emplace(key, std::move(entry));
  }
  other.impl_->entries.clear();
}

}  // namespace svdd
