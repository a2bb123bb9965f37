// Registry of named component factories (see registry.hpp).
#include "svdd/registry.hpp"

#include <fmt/format.h>

#include <map>

#include "config/toml_config.hpp"
#include "svdd/error.hpp"
#include "svdd/trainer.hpp"

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
    case ComponentKind::value_network:
      return "value_network";
  }
  return "?";
}

struct Registry::Impl {
  struct Entry {
    ComponentKind kind;
    std::string summary;
    ParamSchema schema;
    std::string origin = "core";
    AnyMaker make;
  };
  std::map<std::string, Entry> entries;  // key: "<kind>/<name>"
  struct NamedDomain {
    std::string summary;
    std::string origin = "core";
    DomainMaker make;
  };
  std::map<std::string, NamedDomain> domains;

  static std::string key(ComponentKind kind, const std::string& name) {
    return fmt::format("{}/{}", to_string(kind), name);
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

void Registry::add_maker(ComponentKind kind, std::string name, std::string summary,
                         ParamSchema params, AnyMaker make) {
  auto k = Impl::key(kind, name);
  if (impl_->entries.count(k)) {
    throw InputError(fmt::format("{} '{}' is registered twice", to_string(kind), name));
  }
  impl_->entries.emplace(
      k, Impl::Entry{kind, std::move(summary), std::move(params), "core", std::move(make)});
}

const AnyMaker& Registry::maker(ComponentKind kind, const ComponentSpec& spec) const {
  return impl_->find(kind, spec).make;
}

// Errors that do not yet say where they come from get the component's file
// and table in front. Foreign exceptions (a checkpoint that fails to load in
// libtorch, say) become InputErrors too: the cause is the configuration a
// user wrote.
void Registry::located(const ComponentSpec& spec, const std::function<void()>& build) {
  const std::string where = spec.config ? spec.config->where() : spec.type;
  const std::string file = spec.config ? spec.config->impl().origin.file() : "";
  try {
    build();
  } catch (const InputError& e) {
    if (!file.empty() && std::string(e.what()).find(file) != std::string::npos) throw;
    throw InputError(fmt::format("{}: {}", where, e.what()));
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    throw InputError(fmt::format("{}: {}", where, error_message(e)));
  }
}

std::shared_ptr<const ComponentConfig> Registry::config(const ComponentSpec& spec) {
  if (spec.config) return spec.config;
  static const auto nowhere = SourceMap::of({}, "<none>");
  return make_component_config({}, ConfigOrigin{nowhere, spec.type, {}});
}

void Registry::build_reward(const ComponentSpec& spec,
                            const std::function<void(const BuildContext&, const Domain&)>& build,
                            const BuildContext& context, const Domain& domain) const {
  // Rewards made of rewards (composite) build their terms through here too.
  BuildContext nested = context;
  nested.make_reward = [this, context](const ComponentSpec& term, const Domain& d) {
    return make<ComponentKind::reward>(term, context, d);
  };
  located(spec, [&] { build(nested, domain); });
}

void Registry::build_model(const ComponentSpec& spec,
                           const std::function<void(const BuildContext&)>& build,
                           const BuildContext& context) const {
  BuildContext nested = context;
  nested.make_domain = [this](const std::string& name, const DomainRequest& request) {
    return make_domain(name, request);
  };
  located(spec, [&] { build(nested); });
}

void Registry::add_domain(std::string name, std::string summary, DomainMaker make) {
  if (impl_->domains.count(name)) {
    throw InputError(fmt::format("domain '{}' is registered twice", name));
  }
  impl_->domains.emplace(std::move(name),
                         Impl::NamedDomain{std::move(summary), "core", std::move(make)});
}

Domain Registry::make_domain(const std::string& name, const DomainRequest& request) const {
  auto it = impl_->domains.find(name);
  if (it == impl_->domains.end()) {
    std::string names;
    for (const auto& [known, entry] : impl_->domains) names += (names.empty() ? "" : ", ") + known;
    throw InputError(fmt::format("domain: unknown domain '{}' (known: {}; a plugin names them)",
                                 name, names.empty() ? "none" : names));
  }
  try {
    return it->second.make(request);
  } catch (const InputError& e) {
    throw InputError(fmt::format("domain '{}': {}", name, e.what()));
  }
}

std::vector<DomainInfo> Registry::domains() const {
  std::vector<DomainInfo> out;
  for (const auto& [name, entry] : impl_->domains)
    out.push_back({name, entry.summary, entry.origin});
  return out;
}

void Registry::train(const ComponentSpec& spec, const TrainContext& context) const {
  const auto& train =
      std::get<ComponentTraits<ComponentKind::trainer>::Maker>(maker(ComponentKind::trainer, spec));
  // Only reading the table is located: a failure while training is not the
  // configuration's fault and keeps its own kind. A foreign exception (a
  // libtorch error) gets the trainer's name, in one line.
  try {
    train(*config(spec), context);
  } catch (const Error&) {
    throw;
  } catch (const TrainingStopped&) {
    throw;
  } catch (const std::exception& e) {
    throw RuntimeFailure(fmt::format("training '{}': {}", spec.type, error_message(e)));
  }
}

bool Registry::contains(ComponentKind kind, const std::string& name) const {
  return impl_->entries.count(Impl::key(kind, name)) > 0;
}

std::string Registry::effective_toml(ComponentKind kind, const ComponentSpec& spec) const {
  const auto& entry = impl_->find(kind, spec);
  std::string text;
  located(spec, [&] { text = entry.schema.effective_toml(*config(spec)); });
  return text;
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
  for (const auto& [name, entry] : other.impl_->domains) {
    if (impl_->domains.count(name)) {
      throw InputError(fmt::format("domain '{}' is already registered (by {})", name,
                                   impl_->domains.at(name).origin));
    }
  }
  for (auto& [key, entry] : other.impl_->entries) {
    entry.origin = origin;
    impl_->entries.emplace(key, std::move(entry));
  }
  for (auto& [name, entry] : other.impl_->domains) {
    entry.origin = origin;
    impl_->domains.emplace(name, std::move(entry));
  }
  other.impl_->entries.clear();
  other.impl_->domains.clear();
}

}  // namespace svdd
