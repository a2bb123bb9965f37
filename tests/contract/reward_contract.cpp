// The reward contract: [B] finite floats, deterministic and independent of
// the batch around a sample, invalid_value() for invalid samples (never NaN,
// never an exception), and refusal of a domain the reward does not fit.
#include <c10/core/InferenceMode.h>

#include <cmath>

#include "catch_torch.hpp"
#include "contract.hpp"
#include "svdd/error.hpp"
#include "svdd/reward_oracle.hpp"

namespace svdd::contract {
namespace {

// One sample every reward must score without an exception: an all-mask
// token string (discrete) or a NaN sample (continuous).
at::Tensor unfinished_sample(const Domain& d, const at::Tensor& valid) {
  return d.discrete() ? at::full_like(valid.slice(0, 0, 1), d.mask_id)
                      : at::full_like(valid.slice(0, 0, 1), std::nan(""));
}

at::Tensor scores(RewardOracle& reward, const at::Tensor& x, const Domain& d) {
  at::Tensor s = reward.score(Samples(x, d));
  REQUIRE(s.defined());
  INFO("score() of " << x.size(0) << " samples has shape " << s.sizes());
  REQUIRE(s.dim() == 1);
  REQUIRE(s.size(0) == x.size(0));
  CHECK(s.is_floating_point());
  return s.detach().to(at::kCPU, at::kDouble);
}

}  // namespace

void check_reward(const Workshop& workshop, const RewardCase& c) {
  INFO("reward table: " << c.table << "\ndomain " << c.domain.name);
  auto reward = workshop.reward(c.table, c.domain);
  REQUIRE(c.valid.defined());
  REQUIRE(c.valid.size(0) >= 2);
  const double invalid_value = reward->invalid_value();
  CHECK_FALSE(std::isnan(invalid_value));
  c10::InferenceMode guard;

  const at::Tensor s = scores(*reward, c.valid, c.domain);
  CHECK(s.isfinite().all().item<bool>());
  CHECK(scores(*reward, c.valid, c.domain).equal(s));  // deterministic
  // A sample's score does not depend on its batch (up to float rounding: a
  // network's kernels may sum in another order for another batch size).
  const auto same_scores = [](const at::Tensor& a, const at::Tensor& b) {
    return at::allclose(a, b, /*rtol=*/1e-5, /*atol=*/1e-8);
  };
  CHECK(same_scores(scores(*reward, c.valid.slice(0, 1, 2), c.domain), s.slice(0, 1, 2)));

  // Valid rows, the unfinished sample, then the case's invalid samples.
  std::vector<at::Tensor> parts{c.valid, unfinished_sample(c.domain, c.valid)};
  if (c.invalid.defined()) parts.push_back(c.invalid.to(c.valid.scalar_type()));
  at::Tensor mixed;
  REQUIRE_NOTHROW(mixed = scores(*reward, at::cat(parts), c.domain));
  const int64_t n = c.valid.size(0);
  CHECK(same_scores(mixed.slice(0, 0, n), s));
  const bool masked_scores = c.domain.discrete() && !c.mask_is_invalid;
  const at::Tensor got = mixed.slice(0, masked_scores ? n + 1 : n);
  INFO("invalid samples scored " << got << ", invalid_value() is " << invalid_value);
  CHECK(got.eq(invalid_value).all().item<bool>());
  if (masked_scores) CHECK(std::isfinite(mixed[n].item<double>()));

  for (const Domain& wrong : c.wrong_domains) {
    INFO("a domain it must refuse: " << wrong.name);
    CHECK_THROWS_AS(workshop.reward(c.table, wrong), InputError);
  }
}

}  // namespace svdd::contract
