// Private: the step shared by the derivative-based methods (DPS, classifier
// guidance), which differ only in the gradient they follow. Continuous
// models: the pretrained sample moved by scale * gradient (d/dx_t);
// token models: revealed tokens drawn from the denoiser's probabilities
// tilted by exp(scale * gradient) (d/d one-hot, [B, L, V]).
#pragma once

#include <ATen/ATen.h>

#include "svdd/method.hpp"

namespace svdd {

class GradientGuided : public Method {
 public:
  explicit GradientGuided(double scale) : scale_(scale) {}

  bool needs_gradients() const override { return true; }

  at::Tensor propose(Transition& transition, const at::Tensor& x_t, int step,
                     DecodeContext& context) final {
    at::Tensor g = gradient(transition, x_t, step, context).to(x_t.device());
    if (context.model().domain().discrete()) {
      return transition.sample_tilted(1, context.generator(), scale_ * g);
    }
    return transition.sample(1, context.generator()) + scale_ * g.view(x_t.sizes());
  }

 protected:
  // Continuous: [B, ...] like x_t; tokens: [B, L, V].
  virtual at::Tensor gradient(Transition& transition, const at::Tensor& x_t, int step,
                              DecodeContext& context) = 0;

 private:
  double scale_;
};

}  // namespace svdd
