// toy.categorical: strings of length L over V tokens with an explicit
// pretrained distribution p_pre (a seeded random table), sampled by core's
// masked diffusion with an exact denoiser computed by enumeration. Because
// p_pre is known, the guidance target p_pre(x) exp(r(x)/alpha) / Z and the
// exact soft value are computable, so tests can check methods against them.
//
// Also the rewards for discrete toys: toy.token_count and toy.hash_reward.
#include <ATen/ATen.h>
#include <fmt/format.h>

#include <cmath>

#include "svdd/error.hpp"
#include "svdd/families/masked_diffusion.hpp"
#include "svdd/registry.hpp"
#include "svdd/util/seeding.hpp"

namespace svdd {
namespace {

struct ToyCategoricalParams {
  int64_t length = 4;
  int64_t vocab = 4;
  int steps = 128;  // int, as MaskedDiffusionOptions keeps it
  int64_t seed = 1;
  double sharpness = 1.5;
  void visit(ParamVisitor& v) {
    v.field("length", length, "L: tokens per string");
    v.in_range("length", length, 1, 12);
    v.field("vocab", vocab, "V: distinct tokens (named A, B, C, ...), the mask token excluded");
    v.in_range("vocab", vocab, 2, 26);
    v.require(std::pow(double(vocab), double(length)) <= 65536.0, "length",
              "vocab^length must be at most 65536 (the support is enumerated)");
    v.field("steps", steps,
            "T: reverse steps; the masked reverse step is exact only when one position unmasks "
            "per step, so keep T much larger than L");
    v.at_least("steps", steps, 1);
    v.field("seed", seed, "seed of the random pretrained table");
    v.field("sharpness", sharpness, "p_pre(x) ~ exp(sharpness * z_x), z_x ~ N(0, 1)");
  }
};

// The exact pretrained distribution over all V^L strings.
class CategoricalTable final : public ExactDistribution, public MaskedDenoiser {
 public:
  CategoricalTable(const ToyCategoricalParams& p) : length_(p.length), vocab_(p.vocab) {
    const int64_t n = static_cast<int64_t>(std::llround(std::pow(double(vocab_), double(length_))));
    at::Tensor index = at::arange(n, at::kLong);
    support_ = at::empty({n, length_}, at::kLong);
    for (int64_t l = length_ - 1; l >= 0; --l) {
      support_.select(1, l).copy_(index.remainder(vocab_));
      index = index.div(vocab_, "floor");
    }
    auto generator = at::make_generator<at::CPUGeneratorImpl>(static_cast<uint64_t>(p.seed));
    at::Tensor z = at::randn({n}, generator, at::kDouble);
    log_p_ = (p.sharpness * z).log_softmax(0);
    quadrature_ = {support_, log_p_, at::arange(n, at::kLong)};
    one_hot_ = at::one_hot(support_, vocab_ + 1).to(at::kDouble);  // [N, L, V+1]
  }

  // ExactDistribution
  const Quadrature& quadrature() const override { return quadrature_; }
  int64_t num_bins() const override { return support_.size(0); }
  std::string distance_name() const override {
    return fmt::format("total variation over all {} strings", support_.size(0));
  }
  at::Tensor bin_of(const at::Tensor& x0) const override {
    at::Tensor x = x0.to(at::kCPU, at::kLong);
    at::Tensor index = at::zeros({x.size(0)}, at::kLong);
    for (int64_t l = 0; l < length_; ++l) index = index * vocab_ + x.select(1, l);
    at::Tensor valid = x.ge(0).logical_and(x.lt(vocab_)).all(1);
    return at::where(valid, index, at::full_like(index, -1));
  }
  at::Tensor posterior(const at::Tensor& x_t, int) const override {
    // In absorbing diffusion x_t only tells which tokens are known, whatever
    // the step: p(x_0 | x_t) = p_pre(x_0) [x_0 agrees with x_t] / Z.
    at::Tensor x = x_t.to(at::kCPU, at::kLong);
    at::Tensor agrees = at::ones({x.size(0), support_.size(0)}, at::kBool);
    for (int64_t l = 0; l < length_; ++l) {
      at::Tensor xl = x.select(1, l).unsqueeze(1);
      agrees &= xl.eq(vocab_).logical_or(xl.eq(support_.select(1, l).unsqueeze(0)));
    }
    at::Tensor w = at::where(agrees, log_p_.unsqueeze(0), at::full({}, -INFINITY, at::kDouble));
    return w.softmax(1);
  }

  // MaskedDenoiser: the exact per-position marginals of p(x_0 | x_t).
  at::Tensor logits(const at::Tensor& x_t, const at::Tensor&) override {
    at::Tensor post = posterior(x_t, 0);                                 // [B, N]
    at::Tensor marginals = at::einsum("bn,nlv->blv", {post, one_hot_});  // [B, L, V+1]
    return marginals.clamp_min(1e-30).log().to(at::kFloat).to(x_t.device());
  }

 private:
  int64_t length_, vocab_;
  at::Tensor support_, log_p_, one_hot_;
  Quadrature quadrature_;
};

Domain categorical_domain(int64_t length, int64_t vocab) {
  Domain d;
  d.name = "toy.categorical";
  d.kind = Domain::Kind::discrete;
  d.shape = {length};
  d.vocab_size = vocab + 1;
  d.mask_id = vocab;
  for (int64_t i = 0; i < vocab; ++i) d.alphabet.push_back(std::string(1, char('A' + i)));
  d.alphabet.push_back("_");
  return d;
}

struct TokenCountParams {
  std::string token = "A";
  void visit(ParamVisitor& v) {
    v.field("token", token, "the token whose share of positions is the reward");
  }
};

struct HashRewardParams {
  int64_t seed = 0;
  void visit(ParamVisitor& v) { v.field("seed", seed, "seed of the reward table"); }
};

// Fraction of positions equal to one token, in [0, 1].
class TokenCount final : public RewardOracle {
 public:
  explicit TokenCount(int64_t id) : id_(id) {}
  // Token ids [B, L], or for gradients (DPS on tokens) per-position
  // probabilities [B, L, V], for which it is the expected share.
  at::Tensor score(const Samples& s) override {
    const at::Tensor& x = s.tensor();
    if (x.dim() == 3 && x.is_floating_point()) return x.select(2, id_).to(at::kDouble).mean(1);
    return x.eq(id_).to(at::kDouble).mean(1).to(at::kCPU);
  }
  bool differentiable() const override { return true; }
  double invalid_value() const override { return 0.0; }

 private:
  int64_t id_;
};

// A fixed pseudo-random reward in [0, 1) for every distinct token string:
// no structure a method could exploit, so only the value matters.
// A string still holding the mask token is no sample: invalid_value().
class HashReward final : public RewardOracle {
 public:
  HashReward(int64_t seed, int64_t mask_id)
      : seed_(static_cast<uint64_t>(seed)), mask_id_(mask_id) {}
  at::Tensor score(const Samples& s) override {
    at::Tensor x = s.tensor().to(at::kCPU, at::kLong).reshape({s.size(), -1}).contiguous();
    at::Tensor out = at::empty({s.size()}, at::kDouble);
    auto a = x.accessor<int64_t, 2>();
    auto o = out.accessor<double, 1>();
    for (int64_t i = 0; i < a.size(0); ++i) {
      uint64_t h = splitmix64(seed_);
      bool masked = false;
      for (int64_t j = 0; j < a.size(1); ++j) {
        h = splitmix64(h ^ static_cast<uint64_t>(a[i][j]));
        masked = masked || a[i][j] == mask_id_;
      }
      o[i] = masked ? invalid_value() : static_cast<double>(h >> 11) * 0x1.0p-53;
    }
    return out;
  }
  double invalid_value() const override { return 0.0; }

 private:
  uint64_t seed_;
  int64_t mask_id_;
};

}  // namespace

void register_toy_categorical(Registry& registry) {
  registry.add<ComponentKind::model, ToyCategoricalParams>(
      "toy.categorical",
      "strings of L tokens with an exact random pretrained table and exact masked denoiser",
      [](const ToyCategoricalParams& p, const BuildContext& build) {
        auto table = std::make_shared<CategoricalTable>(p);
        MaskedDiffusionOptions options;
        options.steps = p.steps;
        options.chunk_rows = build.chunk_rows;
        options.device = build.device;
        return make_masked_diffusion(categorical_domain(p.length, p.vocab), table, options, table);
      });
  registry.add<ComponentKind::reward, TokenCountParams>(
      "toy.token_count",
      "share of positions equal to `token` (discrete domains), in [0, 1]; differentiable in "
      "per-position probabilities",
      [](const TokenCountParams& p, const BuildContext&, const Domain& domain) {
        require_discrete(domain, "reward 'toy.token_count'");
        for (size_t i = 0; i < domain.alphabet.size(); ++i) {
          if (domain.alphabet[i] == p.token && static_cast<int64_t>(i) != domain.mask_id) {
            return std::make_unique<TokenCount>(static_cast<int64_t>(i));
          }
        }
        throw InputError(
            fmt::format("token: '{}' is not a token of domain '{}'", p.token, domain.name));
      });
  registry.add<ComponentKind::reward, HashRewardParams>(
      "toy.hash_reward", "a fixed pseudo-random reward in [0, 1) per distinct string",
      [](const HashRewardParams& p, const BuildContext&, const Domain& domain) {
        require_discrete(domain, "reward 'toy.hash_reward'");
        return std::make_unique<HashReward>(p.seed, domain.mask_id);
      });
}

}  // namespace svdd
