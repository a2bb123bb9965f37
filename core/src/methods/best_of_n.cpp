// Best-of-N: draw N independent pretrained samples per output sample and keep
// the one with the highest reward. Each output sample is the best of its own
// group of N consecutive particles (no sharing across the batch).
#include <ATen/ATen.h>

#include <cmath>

#include "methods/selection.hpp"
#include "svdd/error.hpp"
#include "svdd/registry.hpp"

namespace svdd {
namespace {

struct BestOfNParams {
  int64_t n = 10;
  std::string match_compute_of;
  void visit(ParamVisitor& v) {
    v.field("n", n, "pretrained samples drawn per output sample; the best one is kept");
    v.at_least("n", n, 1);
    v.at_most("n", n, kMostPerSample);
    v.field("match_compute_of", match_compute_of,
            "a run of this experiment (label or method name) listed earlier: n is set to the "
            "smallest value whose denoiser rows per sample reach that run's (overrides n)");
  }
};

class BestOfN final : public Method {
 public:
  explicit BestOfN(int64_t n) : n_(n) {}
  int64_t particles_per_sample() const override { return n_; }

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
  registry.add<ComponentKind::method, BestOfNParams>(
      "best_of_n",
      "keep the highest-reward of n pretrained samples (cost: n denoiser rows per sample and "
      "step, n reward calls per sample)",
      [](const BestOfNParams& p, const MethodDeps& deps) {
        int64_t n = p.n;
        if (!p.match_compute_of.empty()) {
          if (!deps.measured_rows_per_sample) {
            throw InputError("match_compute_of: only available inside an experiment");
          }
          // n pretrained chains cost n * T rows per sample; match from above.
          if (auto rows = deps.measured_rows_per_sample(p.match_compute_of)) {
            n = std::max<int64_t>(
                1, static_cast<int64_t>(std::ceil(*rows / deps.model.num_steps() - 1e-9)));
          }
        }
        return std::make_unique<BestOfN>(n);
      });
}

}  // namespace svdd
