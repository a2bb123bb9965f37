// Core's value-network architecture "mlp" (SVDD-MC, Li et al. 2024,
// arXiv:2408.08252, section 4.2), for any domain:
//
//   discrete:   tokens [B, L] -> embedding [B, L, E] -> flatten [B, L*E]
//               (or, pooling = "mean", + position embedding, mean over L)
//   continuous: x [B, ...] -> flatten [B, D]
//   both:       concat [t, sin(pi 2^k t), cos(pi 2^k t)] (t = step / T)
//               -> Linear, SiLU, ..., Linear -> [B]
//
// It knows nothing of the domain's structure; plugins register architectures
// that do (value_model.hpp).
#include <fmt/format.h>
#include <torch/torch.h>

#include <cmath>

#include "svdd/error.hpp"
#include "svdd/training/value_network.hpp"
#include "svdd/value_model.hpp"

namespace svdd {
namespace {

struct ValueMlpParams {
  int64_t embedding = 16;      // discrete: size of each token's embedding
  int64_t time_features = 16;  // sinusoidal features of t (even), besides t itself
  std::vector<int64_t> hidden{128, 128};
  std::string pooling = "flatten";  // discrete: "flatten" or "mean" (with positions)

  void visit(ParamVisitor& v) {
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
            "discrete domains: \"flatten\" (concatenate the token embeddings) or \"mean\" "
            "(average them, with a learned position embedding; for long sequences)");
    v.require(pooling == "flatten" || pooling == "mean", "pooling",
              "must be \"flatten\" or \"mean\"");
  }
};

int64_t numel(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t s : shape) n *= s;
  return n;
}

class ValueMlp final : public ValueModel {
 public:
  ValueMlp(const ValueMlpParams& p, const Domain& domain, at::Generator& generator)
      : params_(p), discrete_(domain.discrete()) {
    const int64_t length = numel(domain.shape);
    int64_t inputs = 0;
    if (discrete_) {
      embed_ = register_module("embed", torch::nn::Embedding(domain.vocab_size, p.embedding));
      if (p.pooling == "mean") {
        position_ = register_parameter("position", torch::zeros({length, p.embedding}));
        inputs = p.embedding;
      } else {
        inputs = length * p.embedding;
      }
    } else {
      inputs = length;
    }
    inputs += 1 + p.time_features;
    for (int64_t width : p.hidden) {
      mlp_->push_back(torch::nn::Linear(inputs, width));
      mlp_->push_back(torch::nn::SiLU());
      inputs = width;
    }
    mlp_->push_back(torch::nn::Linear(inputs, 1));
    register_module("mlp", mlp_);
    initialise(generator);
  }

  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& t) override {
    const int64_t batch = x.size(0);
    if (discrete_) return head(embed_(x.reshape({batch, -1})), t);  // [B, L, E]
    return head(x.reshape({batch, -1}), t);
  }

  // The embedding as a matrix product, so it is differentiable in the input.
  torch::Tensor forward_one_hot(const torch::Tensor& one_hot, const torch::Tensor& t) override {
    return head(one_hot.matmul(embed_->weight), t);
  }

 private:
  // PyTorch's default initialisation, drawn from an explicit generator:
  // Linear weights and biases U(-1/sqrt(fan_in), 1/sqrt(fan_in)),
  // embeddings N(0, 1), positions N(0, 0.1^2).
  void initialise(at::Generator& generator) {
    torch::NoGradGuard no_grad;
    if (embed_) embed_->weight.normal_(0.0, 1.0, generator);
    if (position_.defined()) position_.normal_(0.0, 0.1, generator);
    for (auto& module : mlp_->children()) {
      if (auto* linear = module->as<torch::nn::Linear>()) {
        const double bound = 1.0 / std::sqrt(double(linear->weight.size(1)));
        linear->weight.uniform_(-bound, bound, generator);
        linear->bias.uniform_(-bound, bound, generator);
      }
    }
  }

  torch::Tensor time_features(const torch::Tensor& t) const {
    std::vector<torch::Tensor> features{t.unsqueeze(1)};
    const int64_t k = params_.time_features / 2;
    if (k > 0) {
      torch::Tensor freq = torch::pow(2.0, torch::arange(k, t.options())) * M_PI;
      torch::Tensor angle = t.unsqueeze(1) * freq.unsqueeze(0);
      features.push_back(angle.sin());
      features.push_back(angle.cos());
    }
    return torch::cat(features, 1);
  }

  // Token embeddings [B, L, E] (discrete) or flattened samples [B, D] -> [B].
  torch::Tensor head(const torch::Tensor& features, const torch::Tensor& t) {
    const int64_t batch = features.size(0);
    torch::Tensor h = features;
    if (discrete_) {
      h = position_.defined() ? (features + position_.unsqueeze(0)).mean(1)
                              : features.reshape({batch, -1});
    }
    return mlp_->forward(torch::cat({h, time_features(t)}, 1)).squeeze(1);
  }

  ValueMlpParams params_;
  bool discrete_ = false;
  torch::nn::Embedding embed_{nullptr};
  torch::Tensor position_;
  torch::nn::Sequential mlp_;
};

}  // namespace

void register_value_mlp(Registry& registry) {
  registry.add<ComponentKind::value_network, ValueMlpParams>(
      "mlp",
      "core's value network for any domain: token embeddings (or the flattened sample) and "
      "features of t through an MLP; knows nothing of the domain's structure",
      [](const ValueMlpParams& p, const ValueModelContext& c) -> std::shared_ptr<ValueModel> {
        return std::make_shared<ValueMlp>(p, c.domain, c.generator);
      });
}

}  // namespace svdd
