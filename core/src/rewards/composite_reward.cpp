// composite: a weighted sum of rewards, r(x) = sum_i w_i r_i(x), for any
// domain (GC content plus motif count plus an oracle, say). Differentiable
// when every term is; an invalid sample scores sum_i w_i invalid_i.
#include <ATen/ATen.h>
#include <fmt/format.h>

#include "svdd/error.hpp"
#include "svdd/registry.hpp"

namespace svdd {
namespace {

struct CompositeParams {
  std::vector<ComponentSpec> terms;
  std::vector<double> weights;
  void visit(ParamVisitor& v) {
    v.field("terms", terms, "the rewards to add: [ { type = \"...\", ... }, ... ]");
    v.require(!terms.empty(), "terms", "must name at least one reward");
    v.field("weights", weights, "one weight per term (default: all 1)");
    v.require(weights.empty() || weights.size() == terms.size(), "weights",
              "must have one weight per term");
  }
};

class Composite final : public RewardOracle {
 public:
  Composite(std::vector<std::unique_ptr<RewardOracle>> terms, std::vector<double> weights)
      : terms_(std::move(terms)), weights_(std::move(weights)) {}

  at::Tensor score(const Samples& samples) override {
    at::Tensor total;
    for (size_t i = 0; i < terms_.size(); ++i) {
      at::Tensor r = weights_[i] * terms_[i]->score(samples).to(at::kCPU, at::kDouble);
      total = total.defined() ? total + r : r;
    }
    return total;
  }

  bool differentiable() const override {
    for (const auto& term : terms_) {
      if (!term->differentiable()) return false;
    }
    return true;
  }

  double invalid_value() const override {
    double sum = 0;
    for (size_t i = 0; i < terms_.size(); ++i) sum += weights_[i] * terms_[i]->invalid_value();
    return sum;
  }

 private:
  std::vector<std::unique_ptr<RewardOracle>> terms_;
  std::vector<double> weights_;
};

}  // namespace

void register_composite_reward(Registry& registry) {
  registry.add<ComponentKind::reward, CompositeParams>(
      "composite", "a weighted sum of rewards, any domain",
      [](const CompositeParams& p, const BuildContext& build, const Domain& domain) {
        if (!build.make_reward) throw InputError("composite: its terms cannot be built here");
        std::vector<std::unique_ptr<RewardOracle>> terms;
        for (const auto& spec : p.terms) terms.push_back(build.make_reward(spec, domain));
        std::vector<double> weights = p.weights;
        if (weights.empty()) weights.assign(terms.size(), 1.0);
        return std::make_unique<Composite>(std::move(terms), std::move(weights));
      });
}

}  // namespace svdd
