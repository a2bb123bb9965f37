// Best-of-N: draw N independent pretrained samples per output sample and keep
// the one with the highest reward. Each output sample is the best of its own
// group of N consecutive particles (no sharing across the batch).
#include <ATen/ATen.h>

#include "selection.hpp"
#include "svdd/registry.hpp"

namespace svdd {
namespace {

struct BestOfNParams {
  int64_t n = 10;
  void visit(ParamVisitor& v) {
    v.field("n", n, "pretrained samples drawn per output sample; the best one is kept");
    v.require(n >= 1, "n", "must be at least 1");
  }
};

class BestOfN final : public Method {
 public:
  explicit BestOfN(int64_t n) : n_(n) {}
  int64_t particles_per_sample() const override { return n_; }

  at::Tensor select(const StepCandidates& c, DecodeContext&) override {
    return at::arange(c.parents.size(0), at::kLong);
  }

  at::Tensor finish(const at::Tensor& x0, DecodeContext& context) override {
    at::Tensor rewards = context.reward(x0).view({-1, n_});
    at::Tensor best = soft_select(rewards, 0.0, context.generator());
    return x0.index_select(0, group_rows(best, n_).to(x0.device()));
  }

 private:
  int64_t n_;
};

}  // namespace

void register_best_of_n(Registry& registry) {
  registry.add_method<BestOfNParams>(
      "best_of_n",
      "keep the highest-reward of n pretrained samples (cost: n denoiser rows per sample and "
      "step, n reward calls per sample)",
      [](const BestOfNParams& p, const MethodDeps&) { return std::make_unique<BestOfN>(p.n); });
}

}  // namespace svdd
