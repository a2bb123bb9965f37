// The SVDD-MC value network (Li et al. 2024, arXiv:2408.08252, section 4.2):
// a registered architecture (value_model.hpp) plus the target's
// standardisation, prediction target_mean + target_scale * output, and its
// checkpoint card (see value_network.hpp).
#include "svdd/training/value_network.hpp"

#include <fmt/format.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <sstream>

#include "config/toml_config.hpp"
#include "svdd/error.hpp"
#include "svdd/training/card.hpp"
#include "svdd/training/finite_weights.hpp"
#include "svdd/value_model.hpp"

namespace svdd {

namespace {

// What the card says about the domain and steps a network was trained for.
struct DomainCard {
  std::string name;
  std::string kind;
  std::vector<int64_t> shape;
  int64_t vocab_size = 0;
  int64_t mask_id = -1;
  int64_t steps = 0;

  void visit(ParamVisitor& v) {
    v.field("name", name, "the domain's name");
    v.field("kind", kind, "\"discrete\" or \"continuous\"");
    v.require(kind == "discrete" || kind == "continuous", "kind",
              "must be \"discrete\" or \"continuous\"");
    v.field("shape", shape, "shape of one sample");
    v.field("vocab_size", vocab_size, "discrete: token ids including the mask");
    v.field("mask_id", mask_id, "discrete: the mask token's id");
    v.field("steps", steps, "T: reverse steps of the model the network was trained on");
    v.require(steps >= 1, "steps", "missing or below 1");
  }

  static DomainCard of(const Domain& domain, int num_steps) {
    DomainCard card;
    card.name = domain.name;
    card.kind = domain.discrete() ? "discrete" : "continuous";
    card.shape = domain.shape;
    card.vocab_size = domain.discrete() ? domain.vocab_size : 0;
    card.mask_id = domain.discrete() ? domain.mask_id : -1;
    card.steps = num_steps;
    return card;
  }
};

std::string shape_text(const std::vector<int64_t>& shape) {
  return fmt::format("[{}]", fmt::join(shape, ", "));
}

int64_t numel(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t s : shape) n *= s;
  return n;
}

// The card's [network]: the architecture's type and its effective table.
struct Architecture {
  ComponentSpec spec;
  std::string table;  // TOML text with `type`
};

Architecture architecture_of(const Registry& registry, const ComponentSpec& spec) {
  toml::table table = toml::parse(registry.effective_toml(ComponentKind::value_network, spec));
  table.insert_or_assign("type", spec.type);
  std::ostringstream os;
  os << table;
  return {spec, os.str()};
}

}  // namespace

ValueModel::~ValueModel() = default;

torch::Tensor ValueModel::forward_one_hot(const torch::Tensor&, const torch::Tensor&) {
  throw InputError(
      "this value-network architecture has no gradient in tokens (classifier guidance needs "
      "one)");
}

void ValueModel::adopt_layers(torch::nn::Module& network, const std::vector<std::string>& skip) {
  for (const auto& child : network.named_children()) {
    if (std::find(skip.begin(), skip.end(), child.key()) == skip.end()) {
      register_module(child.key(), child.value());
    }
  }
  for (const auto& parameter : network.named_parameters(/*recurse=*/false)) {
    register_parameter(parameter.key(), parameter.value());
  }
}

struct ValueNetwork::Impl {
  Domain domain;
  int num_steps = 0;
  std::string type;
  std::string table;
  std::shared_ptr<ValueModel> module;
  torch::Tensor target_mean, target_scale;
  torch::Device device{torch::kCPU};

  // x [B, ...] and t [B] on the device -> [B] in reward units.
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& t) {
    return target_mean + target_scale * module->forward(x, t);
  }
};

ValueNetwork::ValueNetwork(const Registry& registry, const ComponentSpec& spec,
                           const Domain& domain, int num_steps, at::Generator& generator) {
  if (num_steps < 1) throw InputError("value network: the model needs at least one step");
  if (domain.shape.empty() || numel(domain.shape) < 1) {
    throw InputError(
        fmt::format("value network: domain '{}' has an empty sample shape", domain.name));
  }
  if (domain.discrete() && domain.vocab_size < 1) {
    throw InputError(
        fmt::format("value network: discrete domain '{}' has no vocabulary", domain.name));
  }
  const Architecture architecture = architecture_of(registry, spec);
  impl_ = std::make_unique<Impl>();
  impl_->domain = domain;
  impl_->num_steps = num_steps;
  impl_->type = spec.type;
  impl_->table = architecture.table;
  // Modules that initialise themselves from libtorch's default generator
  // get a state fixed by `generator`'s seed (read, not drawn from, so that
  // architectures drawing from `generator` itself see all of its stream).
  torch::manual_seed(generator.current_seed());
  impl_->module = registry.make<ComponentKind::value_network>(
      spec, ValueModelContext{domain, num_steps, generator});
  if (!impl_->module) {
    throw InputError(fmt::format("value network '{}': its factory built nothing", spec.type));
  }
  impl_->target_mean = impl_->module->register_buffer("target_mean", torch::zeros({1}));
  impl_->target_scale = impl_->module->register_buffer("target_scale", torch::ones({1}));
}

ValueNetwork::~ValueNetwork() = default;
ValueNetwork::ValueNetwork(ValueNetwork&&) noexcept = default;
ValueNetwork& ValueNetwork::operator=(ValueNetwork&&) noexcept = default;

at::Tensor ValueNetwork::predict(const at::Tensor& x, const at::Tensor& steps) {
  const auto& shape = impl_->domain.shape;
  const bool shape_ok = x.dim() == static_cast<int64_t>(shape.size()) + 1 &&
                        std::equal(shape.begin(), shape.end(), x.sizes().begin() + 1);
  if (!shape_ok || steps.dim() != 1 || steps.size(0) != x.size(0)) {
    throw RuntimeFailure(fmt::format(
        "value network: expected samples [B, {}] and steps [B], got samples {} and steps {}",
        fmt::join(shape, ", "), shape_text(x.sizes().vec()), shape_text(steps.sizes().vec())));
  }
  const auto device = impl_->device;
  torch::Tensor input =
      impl_->domain.discrete() ? x.to(device, torch::kLong) : x.to(device, torch::kFloat);
  torch::Tensor t = steps.to(device, torch::kFloat) / static_cast<float>(impl_->num_steps);
  return impl_->forward(input, t);
}

at::Tensor ValueNetwork::gradient(const at::Tensor& x, const at::Tensor& steps) {
  torch::AutoGradMode grad(true);
  const auto device = impl_->device;
  torch::Tensor t = steps.to(device, torch::kFloat) / static_cast<float>(impl_->num_steps);
  torch::Tensor input, value;
  if (impl_->domain.discrete()) {
    input = torch::one_hot(x.to(device, torch::kLong).reshape({x.size(0), -1}),
                           impl_->domain.vocab_size)
                .to(torch::kFloat)
                .requires_grad_(true);
    value = impl_->target_mean + impl_->target_scale * impl_->module->forward_one_hot(input, t);
  } else {
    input = x.detach().to(device, torch::kFloat).clone().requires_grad_(true);
    value = impl_->forward(input, t);
  }
  return torch::autograd::grad({value.sum()}, {input})[0].detach();
}

void ValueNetwork::set_target_scale(double mean, double scale) {
  torch::NoGradGuard no_grad;
  impl_->target_mean.fill_(mean);
  impl_->target_scale.fill_(scale);
}

void ValueNetwork::to(const std::string& device) {
  impl_->device = torch::Device(device);
  impl_->module->to(impl_->device);  // in place: the buffer handles stay valid
}

void ValueNetwork::train(bool on) { impl_->module->train(on); }

const std::string& ValueNetwork::architecture() const { return impl_->type; }

int ValueNetwork::num_steps() const { return impl_->num_steps; }

std::vector<at::Tensor> ValueNetwork::parameters() const { return impl_->module->parameters(); }

std::vector<std::pair<std::string, at::Tensor>> ValueNetwork::named_state() const {
  std::vector<std::pair<std::string, at::Tensor>> state;
  for (const auto& item : impl_->module->named_parameters())
    state.emplace_back(item.key(), item.value());
  for (const auto& item : impl_->module->named_buffers())
    state.emplace_back(item.key(), item.value());
  return state;
}

std::vector<at::Tensor> ValueNetwork::buffers() const { return impl_->module->buffers(); }

std::pair<int64_t, int64_t> ValueNetwork::warm_start(const std::filesystem::path& file) {
  std::map<std::string, torch::Tensor> saved;
  // A module's archive nests one archive per child module: "block0" holds
  // "conv", which holds "weight", read here as "block0.conv.weight".
  std::function<void(torch::serialize::InputArchive&, const std::string&)> collect =
      [&](torch::serialize::InputArchive& archive, const std::string& prefix) {
        for (const auto& key : archive.keys()) {
          torch::Tensor tensor;
          torch::serialize::InputArchive child;
          if (archive.try_read(key, tensor)) {
            saved.emplace(prefix + key, tensor);
          } else if (archive.try_read(key, child)) {
            collect(child, prefix + key + ".");
          }
        }
      };
  try {
    torch::serialize::InputArchive archive;
    archive.load_from(file.string(), torch::kCPU);
    collect(archive, "");
  } catch (const c10::Error& e) {
    throw InputError(fmt::format("value network: warm start {}: not a readable checkpoint: {}",
                                 file.string(), e.what_without_backtrace()));
  }
  torch::NoGradGuard no_grad;
  int64_t copied = 0, parameters = 0;
  for (auto& item : impl_->module->named_parameters()) {
    ++parameters;
    auto it = saved.find(item.key());
    if (it == saved.end() || it->second.sizes() != item.value().sizes()) continue;
    item.value().copy_(it->second);
    ++copied;
  }
  for (auto& item : impl_->module->named_buffers()) {
    if (item.key() == "target_mean" || item.key() == "target_scale") continue;
    auto it = saved.find(item.key());
    if (it != saved.end() && it->second.sizes() == item.value().sizes())
      item.value().copy_(it->second);
  }
  return {copied, parameters};
}

int64_t ValueNetwork::parameter_count() const {
  int64_t n = 0;
  for (const auto& p : impl_->module->parameters()) n += p.numel();
  return n;
}

std::string ValueNetwork::card_toml() const {
  DomainCard domain = DomainCard::of(impl_->domain, impl_->num_steps);
  std::ostringstream os;
  toml::table tables;
  tables.insert("domain", write_params([&](ParamVisitor& v) { domain.visit(v); }));
  tables.insert("network", toml::parse(impl_->table));
  os << tables;
  return os.str() + "\n";
}

void ValueNetwork::save(const std::filesystem::path& file) const {
  torch::serialize::OutputArchive archive;
  impl_->module->save(archive);
  archive.save_to(file.string());
}

void ValueNetwork::load(const std::filesystem::path& file) {
  std::map<std::string, std::vector<int64_t>> expected;
  for (const auto& [name, tensor] : named_state()) expected[name] = tensor.sizes().vec();
  try {
    torch::serialize::InputArchive archive;
    archive.load_from(file.string(), impl_->device);
    impl_->module->load(archive);
    require_finite_weights(impl_->module->parameters(), file);
  } catch (const c10::Error& e) {
    throw InputError(
        fmt::format("value network {}: not a checkpoint of the network its card "
                    "describes: {}",
                    file.string(), e.what_without_backtrace()));
  }
  for (const auto& [name, tensor] : named_state()) {
    if (tensor.sizes().vec() != expected[name]) {
      throw InputError(fmt::format(
          "value network {}: '{}' has shape {} in the checkpoint but {} in the network its card "
          "describes",
          file.string(), name, shape_text(tensor.sizes().vec()), shape_text(expected[name])));
    }
  }
}

namespace {

const toml::table& card_table(const toml::table& root, const std::string& key,
                              const ConfigOrigin& top) {
  const toml::node* node = root.get(key);
  if (!node || !node->is_table()) {
    throw InputError(fmt::format("{}: not a value network card: no [{}] table", top.file(), key));
  }
  return *node->as_table();
}

}  // namespace

std::unique_ptr<ValueNetwork> load_value_network(const std::filesystem::path& checkpoint,
                                                 const Domain& domain, int num_steps,
                                                 const BuildContext& build) {
  const auto card_file = checked_card(checkpoint);
  if (!std::filesystem::is_regular_file(checkpoint)) {
    throw InputError(fmt::format("value network checkpoint not found: {}", checkpoint.string()));
  }
  if (!std::filesystem::is_regular_file(card_file)) {
    throw InputError(fmt::format(
        "value network {}: its card {} is missing (`svdd train` writes both; keep them together)",
        checkpoint.string(), card_file.string()));
  }
  const toml::table root = read_toml_file(card_file, "card");
  const ConfigOrigin top{SourceMap::of(root, card_file.string()), "", card_file.parent_path()};
  DomainCard card;
  make_component_config(card_table(root, "domain", top),
                        ConfigOrigin{top.sources, "domain", top.base_dir})
      ->read([&](ParamVisitor& v) { card.visit(v); });
  // Cards written before architectures were components have no type: the MLP.
  toml::table network_table = card_table(root, "network", top);
  if (!network_table.contains("type")) network_table.insert("type", "mlp");
  const ComponentSpec architecture =
      component_spec_from(network_table, ConfigOrigin{top.sources, "network", top.base_dir});

  const DomainCard model = DomainCard::of(domain, num_steps);
  std::vector<std::string> mismatches;
  auto compare = [&](const char* what, const auto& trained, const auto& used) {
    if (trained != used) {
      mismatches.push_back(fmt::format("{} {} (trained) vs {} (this model)", what, trained, used));
    }
  };
  compare("domain", card.name, model.name);
  compare("kind", card.kind, model.kind);
  compare("shape", shape_text(card.shape), shape_text(model.shape));
  if (model.kind == "discrete") {
    compare("vocab_size", card.vocab_size, model.vocab_size);
    compare("mask_id", card.mask_id, model.mask_id);
  }
  compare("steps", card.steps, model.steps);
  if (!mismatches.empty()) {
    throw InputError(fmt::format(
        "value network {} does not fit this model: {} (see its card {}; train one for this model "
        "with `svdd train`)",
        checkpoint.string(), fmt::join(mismatches, ", "), card_file.string()));
  }
  if (!build.registry) {
    throw RuntimeFailure(fmt::format(
        "value network {}: no registry to rebuild its architecture '{}' (BuildContext::registry)",
        checkpoint.string(), architecture.type));
  }
  if (!build.registry->contains(ComponentKind::value_network, architecture.type)) {
    throw InputError(fmt::format(
        "value network {}: its card {} names the architecture '{}', which no loaded plugin "
        "registers (see `svdd list`)",
        checkpoint.string(), card_file.string(), architecture.type));
  }
  auto generator = at::make_generator<at::CPUGeneratorImpl>(0);
  auto result =
      std::make_unique<ValueNetwork>(*build.registry, architecture, domain, num_steps, generator);
  auto* network = result.get();
  network->to(build.device);
  network->load(checkpoint);
  network->train(false);
  return result;
}

}  // namespace svdd
