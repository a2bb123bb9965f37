// The value-network architecture contract (contract.hpp): shapes, dtypes,
// gradients, a short fit that lowers the held-out loss, a save and load
// that reproduces the predictions, and a card refused by another domain.
#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <fstream>

#include "catch_torch.hpp"
#include "contract.hpp"
#include "svdd/error.hpp"
#include "svdd/training/card.hpp"
#include "svdd/training/value_network.hpp"
#include "toy_fixture.hpp"  // TempDir

namespace svdd::contract {
namespace {

// Noisy samples x_t of the domain at steps [N] and a target that depends on
// them: discrete, tokens with a share t of positions masked and the target
// the share of token 0 among the rest; continuous, N(0, 1) samples and the
// target their mean.
struct Data {
  at::Tensor x, steps, target;
};

Data make_data(const Domain& domain, int num_steps, int64_t n, uint64_t seed) {
  auto generator = at::make_generator<at::CPUGeneratorImpl>(seed);
  std::vector<int64_t> shape{n};
  shape.insert(shape.end(), domain.shape.begin(), domain.shape.end());
  Data d;
  d.steps = at::randint(1, num_steps + 1, {n}, generator, at::kLong);
  const at::Tensor t = d.steps.to(at::kFloat) / float(num_steps);
  if (domain.discrete()) {
    const int64_t letters = domain.mask_id >= 0 ? domain.vocab_size - 1 : domain.vocab_size;
    at::Tensor clean = at::randint(0, letters, shape, generator, at::kLong);
    // Rows with a strong preference for token 0, so the target varies.
    at::Tensor bias = at::rand({n}, generator).lt(0.5);
    at::Tensor zeros = at::rand(shape, generator).lt(0.6);
    for (int64_t i = 1; i < int64_t(shape.size()); ++i) bias = bias.unsqueeze(-1);
    clean = at::where(bias & zeros, at::zeros_like(clean), clean);
    d.target = clean.eq(0).to(at::kFloat).reshape({n, -1}).mean(1);
    at::Tensor masked =
        at::rand(shape, generator).lt(t.view({n, 1}).expand({n, clean[0].numel()}).reshape(shape));
    d.x = domain.mask_id >= 0 ? at::where(masked, at::full_like(clean, domain.mask_id), clean)
                              : clean;
  } else {
    d.x = at::randn(shape, generator);
    d.target = d.x.reshape({n, -1}).mean(1) * 3.0f;
  }
  return d;
}

double mse(ValueNetwork& network, const Data& d) {
  torch::NoGradGuard no_grad;
  network.train(false);
  return (network.predict(d.x, d.steps) - d.target).pow(2).mean().item<double>();
}

}  // namespace

void check_value_network(const Workshop& workshop, const ValueNetworkCase& c) {
  INFO("value network: " << c.table);
  const ComponentSpec spec = parse_component(c.table, "network");
  auto init = at::make_generator<at::CPUGeneratorImpl>(7);
  ValueNetwork network(workshop.registry(), spec, c.domain, c.num_steps, init);
  network.to("cpu");
  REQUIRE(network.architecture() == spec.type);
  REQUIRE(network.parameter_count() > 0);

  // Shapes and dtypes, at every step the decoding loop asks about.
  const Data train = make_data(c.domain, c.num_steps, 384, 1);
  const Data held = make_data(c.domain, c.num_steps, 128, 2);
  {
    torch::NoGradGuard no_grad;
    network.train(false);
    at::Tensor v = network.predict(held.x.slice(0, 0, 5), held.steps.slice(0, 0, 5));
    CHECK(v.sizes() == at::IntArrayRef{5});
    CHECK(v.scalar_type() == at::kFloat);
    CHECK(at::isfinite(v).all().item<bool>());
    at::Tensor edge =
        network.predict(held.x.slice(0, 0, 2), at::tensor({int64_t{0}, int64_t{c.num_steps}}));
    CHECK(edge.sizes() == at::IntArrayRef{2});
    // One row scores the same alone and inside a batch (no batch statistics
    // in evaluation mode).
    at::Tensor alone = network.predict(held.x.slice(0, 3, 4), held.steps.slice(0, 3, 4));
    CHECK(alone.item<float>() == Approx(v[3].item<float>()).margin(1e-4));
  }
  if (c.differentiable) {
    at::Tensor g = network.gradient(held.x.slice(0, 0, 3), held.steps.slice(0, 0, 3));
    std::vector<int64_t> expected{3};
    expected.insert(expected.end(), c.domain.shape.begin(), c.domain.shape.end());
    if (c.domain.discrete()) expected = {3, held.x[0].numel(), c.domain.vocab_size};
    CHECK(g.sizes().vec() == expected);
    CHECK(at::isfinite(g).all().item<bool>());
  }

  // A short fit lowers the held-out loss.
  const double mean = train.target.mean().item<double>();
  const double scale = std::max(1e-3, train.target.std().item<double>());
  network.set_target_scale(mean, scale);
  const double before = mse(network, held);
  torch::optim::Adam optimizer(network.parameters(), torch::optim::AdamOptions(2e-3));
  for (int epoch = 0; epoch < c.epochs; ++epoch) {
    network.train(true);
    for (int64_t b = 0; b < train.x.size(0); b += 64) {
      const int64_t e = std::min<int64_t>(b + 64, train.x.size(0));
      optimizer.zero_grad();
      at::Tensor loss = (network.predict(train.x.slice(0, b, e), train.steps.slice(0, b, e)) -
                         train.target.slice(0, b, e))
                            .pow(2)
                            .mean() /
                        (scale * scale);
      loss.backward();
      optimizer.step();
    }
  }
  const double after = mse(network, held);
  INFO("held-out MSE before " << before << ", after " << c.epochs << " epochs " << after);
  CHECK(after < 0.7 * before);

  // Save, write a card, load through the registry: the same predictions;
  // another domain's model is refused by the card.
  test::TempDir dir;
  const auto checkpoint = dir.path() / "v.pt";
  network.save(checkpoint);
  {
    std::ofstream card(card_path(checkpoint));
    card << network.card_toml();
  }
  auto loaded = load_value_network(checkpoint, c.domain, c.num_steps, workshop.build());
  {
    torch::NoGradGuard no_grad;
    network.train(false);
    CHECK(torch::allclose(loaded->predict(held.x, held.steps), network.predict(held.x, held.steps),
                          1e-5, 1e-5));
  }
  CHECK_THROWS_AS(load_value_network(checkpoint, c.other_domain, c.num_steps, workshop.build()),
                  InputError);
  CHECK_THROWS_WITH(load_value_network(checkpoint, c.other_domain, c.num_steps, workshop.build()),
                    Catch::Contains("does not fit this model"));
  CHECK_THROWS_WITH(load_value_network(checkpoint, c.domain, c.num_steps + 1, workshop.build()),
                    Catch::Contains("steps"));
}

}  // namespace svdd::contract
