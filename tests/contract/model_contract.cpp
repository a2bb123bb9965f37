// The model contract: shapes, dtypes, grouping of children, determinism
// under a fixed generator, and clean samples at the end of the chain.
#include <c10/core/InferenceMode.h>

#include "catch_torch.hpp"
#include "contract.hpp"

namespace svdd::contract {
namespace {

at::Generator seeded(uint64_t seed) { return at::make_generator<at::CPUGeneratorImpl>(seed); }

// [rows, ...shape] of the domain.
std::vector<int64_t> batch_shape(const Domain& d, int64_t rows) {
  std::vector<int64_t> shape{rows};
  shape.insert(shape.end(), d.shape.begin(), d.shape.end());
  return shape;
}

// A batch of the domain: its shape, dtype and values (ids in range,
// continuous values finite).
void check_batch(const Domain& d, const at::Tensor& x, int64_t rows, const std::string& what) {
  INFO(what);
  REQUIRE(x.defined());
  CHECK(x.sizes().vec() == batch_shape(d, rows));
  if (d.discrete()) {
    CHECK(x.scalar_type() == at::kLong);
    CHECK(x.ge(0).all().item<bool>());
    CHECK(x.lt(d.vocab_size).all().item<bool>());
  } else {
    CHECK(x.scalar_type() == at::kFloat);
    CHECK(x.isfinite().all().item<bool>());
  }
}

// Draws the global generator, so a model that draws from it instead of the
// one it is given shows up as different samples.
void disturb_global_generator() {
  at::manual_seed(12345);
  (void)at::randn({16});
}

}  // namespace

void check_model(const Workshop& workshop, const std::string& table, int64_t batch) {
  INFO("model table: " << table);
  auto model = workshop.model(table);
  const Domain& d = model->domain();
  INFO("domain " << d.name);
  REQUIRE_FALSE(d.shape.empty());
  const int steps = model->num_steps();
  REQUIRE(steps >= 1);
  if (d.discrete()) {
    REQUIRE(d.mask_id >= 0);
    REQUIRE(d.mask_id < d.vocab_size);
    CHECK(static_cast<int64_t>(d.alphabet.size()) == d.vocab_size);
  }
  c10::InferenceMode guard;

  at::Generator g = seeded(7);
  const at::Tensor prior = model->prior(batch, g);
  check_batch(d, prior, batch, "prior");
  if (d.discrete()) CHECK(prior.eq(d.mask_id).all().item<bool>());
  {
    disturb_global_generator();
    at::Generator again = seeded(7);
    CHECK(model->prior(batch, again).equal(prior));
  }

  // The whole chain, checking every step; children are grouped and
  // reproducible at the middle step.
  const int middle = (steps + 1) / 2;
  const int64_t k = 3;
  at::Tensor x = prior;
  for (int t = steps; t >= 1; --t) {
    INFO("step " << t << " of " << steps);
    auto transition = model->transition(x, t);
    const at::Tensor x0 = transition->x0_hat();
    check_batch(d, x0, batch, "x0_hat");
    if (d.discrete()) {
      CHECK_FALSE(x0.eq(d.mask_id).any().item<bool>());
      // Positions already revealed are kept.
      const at::Tensor revealed = x.ne(d.mask_id);
      CHECK(x0.masked_select(revealed).equal(x.masked_select(revealed)));
    }
    CHECK(model->transition(x, t)->x0_hat().equal(x0));  // no dropout, no hidden state
    if (t == middle) {
      at::Generator gk = seeded(11);
      const at::Tensor children = transition->sample(k, gk);
      check_batch(d, children, batch * k, "sample(k)");
      disturb_global_generator();
      at::Generator gk_again = seeded(11);
      CHECK(model->transition(x, t)->sample(k, gk_again).equal(children));
      if (d.discrete()) {
        // Row i's children are rows i*k .. i*k+k-1: each keeps its parent's
        // revealed tokens.
        const at::Tensor parents = x.repeat_interleave(k, 0);
        const at::Tensor revealed = parents.ne(d.mask_id);
        INFO("revealed positions at the middle step: " << revealed.sum().item<int64_t>());
        CHECK(children.masked_select(revealed).equal(parents.masked_select(revealed)));
      } else {
        // Each child lies nearer its own parent than any other row.
        const at::Tensor distances = at::cdist(children.reshape({batch * k, -1}).to(at::kDouble),
                                               x.reshape({batch, -1}).to(at::kDouble));
        const at::Tensor own = at::arange(batch, at::kLong).repeat_interleave(k);
        CHECK(distances.argmin(1).equal(own));
        at::Generator other = seeded(12);
        CHECK_FALSE(model->transition(x, t)->sample(k, other).equal(children));
      }
    }
    x = transition->sample(1, g);
    check_batch(d, x, batch, "sample(1)");
  }
  // x_0 is clean: every token revealed.
  if (d.discrete()) CHECK_FALSE(x.eq(d.mask_id).any().item<bool>());
  disturb_global_generator();
  CHECK(draw(*model, batch, 7).equal(x));
}

}  // namespace svdd::contract
