// The sequence plugin's value-network architecture "sequence.dilated_conv"
// for SVDD-MC (Li et al. 2024, arXiv:2408.08252, section 4.2): the soft
// value v(x_t, t) of a partly masked sequence, from the same time-conditioned
// residual network of dilated convolutions as the plugin's denoiser
// (dilated_conv_network.hpp), pooled over positions (mean and max) into a
// small regression head:
//
//   tokens [B, L] -> embedding [B, L, C] -> dilated blocks with t -> [B, C, L]
//   -> [mean over L, max over L] [B, 2C] -> Linear, SiLU, Linear -> [B]
//
// Sharing the denoiser's layer names and shapes lets `svdd train` start it
// from a pretrained denoiser ([training] warm_start = "dna_mdlm.pt"): the
// denoiser already reads a masked sequence at every t, and the value only
// has to learn the head. Differentiable in one-hot tokens (classifier
// guidance). Any 1-D token domain fits (DNA, RNA; SELFIES too).
#include "dilated_conv_value.hpp"

#include <fmt/format.h>
#include <torch/torch.h>

#include "dilated_conv_network.hpp"
#include "svdd/error.hpp"
#include "svdd/value_model.hpp"

namespace svdd::sequence {
namespace {

struct DilatedConvValueParams {
  ConvDenoiserParams body;
  int64_t head = 64;

  void visit(ParamVisitor& v) {
    body.visit(v);
    v.field("head", head, "width of the regression head's hidden layer");
    v.at_least("head", head, 1);
  }
};

class DilatedConvValue final : public ValueModel {
 public:
  DilatedConvValue(const DilatedConvValueParams& p, const Domain& domain)
      : net_(p.body, domain.vocab_size) {
    // The denoiser's layers under their own names (not "net.*"), so its
    // checkpoint's tensors fit by name; its output layer is not used.
    adopt_layers(*net_, {"out"});
    head_in_ = register_module("head_in", torch::nn::Linear(2 * p.body.channels, p.head));
    head_out_ = register_module("head_out", torch::nn::Linear(p.head, 1));
  }

  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& t) override {
    return head(net_->features(net_->embed(x), t));
  }

  torch::Tensor forward_one_hot(const torch::Tensor& one_hot, const torch::Tensor& t) override {
    return head(net_->features(one_hot.matmul(net_->embed->weight), t));
  }

 private:
  // Features [B, C, L] -> [B].
  torch::Tensor head(const torch::Tensor& h) {
    torch::Tensor pooled = torch::cat({h.mean(2), h.amax(2)}, 1);
    return head_out_(torch::silu(head_in_(pooled))).squeeze(1);
  }

  DilatedConvNetwork net_;
  torch::nn::Linear head_in_{nullptr}, head_out_{nullptr};
};

}  // namespace

void register_dilated_conv_value(Registry& registry) {
  registry.add<ComponentKind::value_network, DilatedConvValueParams>(
      "sequence.dilated_conv",
      "SVDD-MC value network for token sequences: the denoiser's time-conditioned dilated "
      "convolutions, pooled (mean, max) into a small head; warm-starts from a sequence.mdlm "
      "checkpoint of the same channels, kernel and dilations",
      [](const DilatedConvValueParams& p,
         const ValueModelContext& c) -> std::shared_ptr<ValueModel> {
        if (!c.domain.discrete() || c.domain.shape.size() != 1) {
          throw InputError(fmt::format(
              "sequence.dilated_conv: needs token sequences [L]; domain '{}' is {}", c.domain.name,
              c.domain.discrete() ? "not one-dimensional" : "continuous"));
        }
        return std::make_shared<DilatedConvValue>(p, c.domain);
      });
}

}  // namespace svdd::sequence
