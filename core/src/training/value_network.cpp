// The SVDD-MC value network (Li et al. 2024, arXiv:2408.08252, section 4.2)
// and its checkpoint card (see value_network.hpp).
//
//   discrete:   tokens [B, L] -> embedding [B, L, E] -> flatten [B, L*E]
//               (or, pooling = "mean", + position embedding, mean over L)
//   continuous: x [B, ...] -> flatten [B, D]
//   both:       concat [t, sin(pi 2^k t), cos(pi 2^k t)] (t = step / T)
//               -> Linear, SiLU, ..., Linear -> [B]
//   prediction  target_mean + target_scale * output
#include "svdd/training/value_network.hpp"

#include <fmt/format.h>
#include <torch/torch.h>

#include <cmath>
#include <map>
#include <sstream>

#include "config/toml_config.hpp"
#include "svdd/error.hpp"
#include "svdd/training/card.hpp"
#include "svdd/training/finite_weights.hpp"

namespace svdd {

void ValueNetworkParams::visit(ParamVisitor& v) {
  v.field("embedding", embedding, "discrete domains: size of each token's embedding");
  v.at_least("embedding", embedding, 1);
  v.field("time_features", time_features,
          "sinusoidal features of t = step/T fed to the network (besides t itself); even");
  v.require(time_features >= 0 && time_features % 2 == 0 && time_features <= 64, "time_features",
            "must be even and in [0, 64]");
  v.field("hidden", hidden, "widths of the MLP's hidden layers (SiLU between them)");
  bool widths_ok = !hidden.empty();
  for (int64_t width : hidden) widths_ok = widths_ok && width >= 1;
  v.require(widths_ok, "hidden", "must list at least one width, each at least 1");
  v.field("pooling", pooling,
          "discrete domains: \"flatten\" (concatenate the token embeddings) or \"mean\" (average "
          "them, with a learned position embedding; for long sequences)");
  v.require(pooling == "flatten" || pooling == "mean", "pooling",
            "must be \"flatten\" or \"mean\"");
}

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

struct ValueMlpImpl : torch::nn::Module {
  ValueMlpImpl(const ValueNetworkParams& p, const Domain& domain) : params(p) {
    discrete = domain.discrete();
    const int64_t length = numel(domain.shape);
    int64_t inputs = 0;
    if (discrete) {
      embed = register_module("embed", torch::nn::Embedding(domain.vocab_size, p.embedding));
      if (p.pooling == "mean") {
        position = register_parameter("position", torch::zeros({length, p.embedding}));
        inputs = p.embedding;
      } else {
        inputs = length * p.embedding;
      }
    } else {
      inputs = length;
    }
    inputs += 1 + p.time_features;
    for (int64_t width : p.hidden) {
      mlp->push_back(torch::nn::Linear(inputs, width));
      mlp->push_back(torch::nn::SiLU());
      inputs = width;
    }
    mlp->push_back(torch::nn::Linear(inputs, 1));
    register_module("mlp", mlp);
    target_mean = register_buffer("target_mean", torch::zeros({1}));
    target_scale = register_buffer("target_scale", torch::ones({1}));
  }

  // PyTorch's default initialisation, drawn from an explicit generator:
  // Linear weights and biases U(-1/sqrt(fan_in), 1/sqrt(fan_in)),
  // embeddings N(0, 1), positions N(0, 0.1^2).
  void initialise(at::Generator& generator) {
    torch::NoGradGuard no_grad;
    if (embed) embed->weight.normal_(0.0, 1.0, generator);
    if (position.defined()) position.normal_(0.0, 0.1, generator);
    for (auto& module : mlp->children()) {
      if (auto* linear = module->as<torch::nn::Linear>()) {
        const double bound = 1.0 / std::sqrt(double(linear->weight.size(1)));
        linear->weight.uniform_(-bound, bound, generator);
        linear->bias.uniform_(-bound, bound, generator);
      }
    }
  }

  torch::Tensor time_features(const torch::Tensor& t) const {
    std::vector<torch::Tensor> features{t.unsqueeze(1)};
    const int64_t k = params.time_features / 2;
    if (k > 0) {
      torch::Tensor freq = torch::pow(2.0, torch::arange(k, t.options())) * M_PI;
      torch::Tensor angle = t.unsqueeze(1) * freq.unsqueeze(0);
      features.push_back(angle.sin());
      features.push_back(angle.cos());
    }
    return torch::cat(features, 1);
  }

  // x [B, ...] on the module's device, t [B] float in [0, 1] -> [B].
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& t) {
    const int64_t batch = x.size(0);
    if (discrete) return head(embed(x.reshape({batch, -1})), t);  // [B, L, E]
    return head(x.reshape({batch, -1}), t);
  }

  // Discrete only: the same for soft one-hot input [B, L, V] (embedding as a
  // matrix product, so it is differentiable in the input).
  torch::Tensor forward_one_hot(const torch::Tensor& one_hot, const torch::Tensor& t) {
    return head(one_hot.matmul(embed->weight), t);
  }

  // Token embeddings [B, L, E] (discrete) or flattened samples [B, D] -> [B].
  torch::Tensor head(const torch::Tensor& features, const torch::Tensor& t) {
    const int64_t batch = features.size(0);
    torch::Tensor h = features;
    if (discrete) {
      h = position.defined() ? (features + position.unsqueeze(0)).mean(1)
                             : features.reshape({batch, -1});
    }
    return target_mean +
           target_scale * mlp->forward(torch::cat({h, time_features(t)}, 1)).squeeze(1);
  }

  ValueNetworkParams params;
  bool discrete = false;
  torch::nn::Embedding embed{nullptr};
  torch::Tensor position;
  torch::nn::Sequential mlp;
  torch::Tensor target_mean, target_scale;
};
TORCH_MODULE(ValueMlp);

}  // namespace

struct ValueNetwork::Impl {
  Impl(const ValueNetworkParams& p, const Domain& d, int steps)
      : domain(d), num_steps(steps), module(p, d) {}
  Domain domain;
  int num_steps;
  ValueMlp module;
  torch::Device device{torch::kCPU};
};

ValueNetwork::ValueNetwork(const ValueNetworkParams& params, const Domain& domain, int num_steps,
                           at::Generator& generator) {
  if (num_steps < 1) throw InputError("value network: the model needs at least one step");
  if (domain.shape.empty() || numel(domain.shape) < 1) {
    throw InputError(
        fmt::format("value network: domain '{}' has an empty sample shape", domain.name));
  }
  if (domain.discrete() && domain.vocab_size < 1) {
    throw InputError(
        fmt::format("value network: discrete domain '{}' has no vocabulary", domain.name));
  }
  impl_ = std::make_unique<Impl>(params, domain, num_steps);
  impl_->module->initialise(generator);
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
      impl_->module->discrete ? x.to(device, torch::kLong) : x.to(device, torch::kFloat);
  torch::Tensor t = steps.to(device, torch::kFloat) / static_cast<float>(impl_->num_steps);
  return impl_->module->forward(input, t);
}

at::Tensor ValueNetwork::gradient(const at::Tensor& x, const at::Tensor& steps) {
  torch::AutoGradMode grad(true);
  const auto device = impl_->device;
  torch::Tensor t = steps.to(device, torch::kFloat) / static_cast<float>(impl_->num_steps);
  torch::Tensor input, value;
  if (impl_->module->discrete) {
    input = torch::one_hot(x.to(device, torch::kLong).reshape({x.size(0), -1}),
                           impl_->domain.vocab_size)
                .to(torch::kFloat)
                .requires_grad_(true);
    value = impl_->module->forward_one_hot(input, t);
  } else {
    input = x.detach().to(device, torch::kFloat).clone().requires_grad_(true);
    value = impl_->module->forward(input, t);
  }
  return torch::autograd::grad({value.sum()}, {input})[0].detach();
}

void ValueNetwork::set_target_scale(double mean, double scale) {
  torch::NoGradGuard no_grad;
  impl_->module->target_mean.fill_(mean);
  impl_->module->target_scale.fill_(scale);
}

void ValueNetwork::to(const std::string& device) {
  impl_->device = torch::Device(device);
  impl_->module->to(impl_->device);
}

void ValueNetwork::train(bool on) { impl_->module->train(on); }

const ValueNetworkParams& ValueNetwork::params() const { return impl_->module->params; }

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

int64_t ValueNetwork::parameter_count() const {
  int64_t n = 0;
  for (const auto& p : impl_->module->parameters()) n += p.numel();
  return n;
}

std::string ValueNetwork::card_toml() const {
  DomainCard domain = DomainCard::of(impl_->domain, impl_->num_steps);
  ValueNetworkParams params = impl_->module->params;
  std::ostringstream os;
  toml::table tables;
  tables.insert("domain", write_params([&](ParamVisitor& v) { domain.visit(v); }));
  tables.insert("network", write_params([&](ParamVisitor& v) { params.visit(v); }));
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

template <class P>
P read_card_table(const toml::table& root, const std::string& key, const ConfigOrigin& top) {
  const toml::node* node = root.get(key);
  if (!node || !node->is_table()) {
    throw InputError(fmt::format("{}: not a value network card: no [{}] table", top.file(), key));
  }
  P params;
  make_component_config(*node->as_table(), ConfigOrigin{top.sources, key, top.base_dir})
      ->read([&](ParamVisitor& v) { params.visit(v); });
  return params;
}

}  // namespace

std::unique_ptr<ValueNetwork> load_value_network(const std::filesystem::path& checkpoint,
                                                 const Domain& domain, int num_steps,
                                                 const std::string& device) {
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
  const auto card = read_card_table<DomainCard>(root, "domain", top);
  const auto params = read_card_table<ValueNetworkParams>(root, "network", top);

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
  auto generator = at::make_generator<at::CPUGeneratorImpl>(0);
  auto network = std::make_unique<ValueNetwork>(params, domain, num_steps, generator);
  network->to(device);
  network->load(checkpoint);
  network->train(false);
  return network;
}

}  // namespace svdd
