// The molecule plugin's value-network architecture "molecule.transformer"
// for SVDD-MC (Li et al. 2024, arXiv:2408.08252, section 4.2): the soft
// value v(x_t, t) of a partly masked SELFIES string, from the same
// time-conditioned transformer as the plugin's denoiser
// (selfies_transformer_network.hpp), averaged over positions into a small
// regression head:
//
//   tokens [B, L] -> embedding + positions -> pre-norm blocks with t
//   -> [L, B, W] -> mean over L [B, W] -> Linear, SiLU, Linear -> [B]
//
// Attention, as in the denoiser, because a SELFIES token's meaning (and so a
// molecule's QED or SA) depends on tokens far away. Sharing the denoiser's
// layer names and shapes lets `svdd train` start it from a pretrained
// denoiser ([training] warm_start = "zinc_mdlm.pt"). Differentiable in
// one-hot tokens (classifier guidance).
#include "selfies_transformer_value.hpp"

#include <fmt/format.h>
#include <torch/torch.h>

#include "selfies_transformer_network.hpp"
#include "svdd/error.hpp"
#include "svdd/value_model.hpp"

namespace svdd::molecule {
namespace {

struct TransformerValueParams {
  TransformerParams body;
  int64_t head = 64;

  void visit(ParamVisitor& v) {
    body.visit(v);
    v.field("head", head, "width of the regression head's hidden layer");
    v.at_least("head", head, 1);
  }
};

class TransformerValue final : public ValueModel {
 public:
  TransformerValue(const TransformerValueParams& p, const Domain& domain)
      : net_(p.body, domain.vocab_size, domain.shape.at(0)) {
    // The denoiser's layers and positions under their own names, so its
    // checkpoint's tensors fit by name; its output layer is not used.
    adopt_layers(*net_, {"out"});
    head_in_ = register_module("head_in", torch::nn::Linear(p.body.width, p.head));
    head_out_ = register_module("head_out", torch::nn::Linear(p.head, 1));
  }

  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& t) override {
    return head(net_->features(net_->embed(x), t));
  }

  torch::Tensor forward_one_hot(const torch::Tensor& one_hot, const torch::Tensor& t) override {
    return head(net_->features(one_hot.matmul(net_->embed->weight), t));
  }

 private:
  // Features [L, B, W] -> [B].
  torch::Tensor head(const torch::Tensor& h) {
    return head_out_(torch::silu(head_in_(h.mean(0)))).squeeze(1);
  }

  SelfiesTransformerNetwork net_;
  torch::nn::Linear head_in_{nullptr}, head_out_{nullptr};
};

}  // namespace

void register_selfies_transformer_value(Registry& registry) {
  registry.add<ComponentKind::value_network, TransformerValueParams>(
      "molecule.transformer",
      "SVDD-MC value network for SELFIES tokens: the denoiser's time-conditioned transformer, "
      "averaged over positions into a small head; warm-starts from a molecule.mdlm checkpoint "
      "of the same width, heads, layers and feedforward",
      [](const TransformerValueParams& p,
         const ValueModelContext& c) -> std::shared_ptr<ValueModel> {
        if (!c.domain.discrete() || c.domain.shape.size() != 1) {
          throw InputError(fmt::format(
              "molecule.transformer: needs token strings [L]; domain '{}' is {}", c.domain.name,
              c.domain.discrete() ? "not one-dimensional" : "continuous"));
        }
        return std::make_shared<TransformerValue>(p, c.domain);
      });
}

}  // namespace svdd::molecule
