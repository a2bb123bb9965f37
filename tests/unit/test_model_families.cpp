// The two model families against small hand-computed cases.
#include <cmath>

#include "catch_torch.hpp"
#include "svdd/families/gaussian_diffusion.hpp"
#include "svdd/families/masked_diffusion.hpp"

namespace {

svdd::Domain tokens(int64_t length) {
  svdd::Domain d;
  d.name = "test.tokens";
  d.kind = svdd::Domain::Kind::discrete;
  d.shape = {length};
  d.vocab_size = 4;  // A B C + mask
  d.mask_id = 3;
  d.alphabet = {"A", "B", "C", "_"};
  return d;
}

// Logits fixed per token: softmax over A, B, C gives (0.5, 0.3, 0.2); the mask
// logit is huge on purpose, to check that the family ignores it.
class FixedDenoiser final : public svdd::MaskedDenoiser {
 public:
  at::Tensor logits(const at::Tensor& x_t, const at::Tensor& t) override {
    last_t = t.clone();
    at::Tensor row = at::tensor({std::log(0.5), std::log(0.3), std::log(0.2), 50.0}, at::kFloat);
    return row.view({1, 1, 4}).expand({x_t.size(0), x_t.size(1), 4}).clone();
  }
  at::Tensor last_t;
};

class ConstantNoise final : public svdd::GaussianDenoiser {
 public:
  explicit ConstantNoise(float value) : value_(value) {}
  at::Tensor predict(const at::Tensor& x_t, const at::Tensor& t) override {
    last_t = t.clone();
    return at::full_like(x_t, value_);
  }
  at::Tensor last_t;

 private:
  float value_;
};

}  // namespace

TEST_CASE("masked diffusion: x0_hat, probabilities and carried-over tokens", "[unit][masked]") {
  auto denoiser = std::make_shared<FixedDenoiser>();
  svdd::MaskedDiffusionOptions options;
  options.steps = 4;
  auto model = svdd::make_masked_diffusion(tokens(3), denoiser, options);
  auto generator = at::make_generator<at::CPUGeneratorImpl>(0);
  at::Tensor prior = model->prior(2, generator);
  CHECK(prior.equal(at::full({2, 3}, 3, at::kLong)));

  at::Tensor x_t = at::tensor({3, 1, 3, 2, 3, 3}, at::kLong).view({2, 3});  // "_B_", "C__"
  auto transition = model->transition(x_t, 2);
  // The denoiser saw t = step / T.
  CHECK(denoiser->last_t.equal(at::full({2}, 0.5f)));
  // x0_hat: argmax (A) where masked, the known token elsewhere.
  CHECK(transition->x0_hat().equal(at::tensor({0, 1, 0, 2, 0, 0}, at::kLong).view({2, 3})));
  at::Tensor probs = transition->x0_probs();
  REQUIRE(probs.sizes() == at::IntArrayRef({2, 3, 4}));
  CHECK(probs[0][0].allclose(at::tensor({0.5f, 0.3f, 0.2f, 0.0f})));  // mask logit ignored
  CHECK(probs[0][1].equal(at::tensor({0.f, 1.f, 0.f, 0.f})));         // known token: one-hot
}

TEST_CASE("masked diffusion: reveal probability 1/s, token frequencies, final step decodes",
          "[unit][masked]") {
  auto denoiser = std::make_shared<FixedDenoiser>();
  svdd::MaskedDiffusionOptions options;
  options.steps = 8;
  auto model = svdd::make_masked_diffusion(tokens(2), denoiser, options);
  auto generator = at::make_generator<at::CPUGeneratorImpl>(1);
  at::Tensor x_t = at::tensor({3, 1}, at::kLong).view({1, 2});  // "_B"
  const int64_t k = 40000;
  // Step 4: a masked position is revealed with probability 1/4.
  at::Tensor children = model->transition(x_t, 4)->sample(k, generator);
  REQUIRE(children.sizes() == at::IntArrayRef({k, 2}));
  CHECK(children.select(1, 1).eq(1).all().item<bool>());  // known token carried over
  at::Tensor revealed = children.select(1, 0).ne(3);
  const double rate = revealed.to(at::kDouble).mean().item<double>();
  const double se = std::sqrt(0.25 * 0.75 / k);
  CHECK(std::abs(rate - 0.25) < 5 * se);
  // Revealed tokens follow the denoiser's (0.5, 0.3, 0.2).
  at::Tensor tokens_drawn = children.select(1, 0).masked_select(revealed);
  const double n = tokens_drawn.size(0);
  for (int64_t token = 0; token < 3; ++token) {
    const double p = std::vector<double>{0.5, 0.3, 0.2}[token];
    const double freq = tokens_drawn.eq(token).to(at::kDouble).mean().item<double>();
    CHECK(std::abs(freq - p) < 5 * std::sqrt(p * (1 - p) / n));
  }
  // Step 1 reveals everything.
  at::Tensor last = model->transition(x_t, 1)->sample(100, generator);
  CHECK(last.ne(3).all().item<bool>());
  // Children are grouped row-major by parent.
  at::Tensor two = at::tensor({3, 0, 3, 2}, at::kLong).view({2, 2});
  at::Tensor grouped = model->transition(two, 1)->sample(3, generator);
  CHECK(grouped.slice(0, 0, 3).select(1, 1).eq(0).all().item<bool>());
  CHECK(grouped.slice(0, 3, 6).select(1, 1).eq(2).all().item<bool>());
}

TEST_CASE("masked diffusion refuses a continuous domain", "[unit][masked]") {
  svdd::Domain continuous;
  continuous.name = "test.continuous";
  continuous.shape = {2};
  CHECK_THROWS_WITH(svdd::make_masked_diffusion(continuous, std::make_shared<FixedDenoiser>(), {}),
                    Catch::Contains("discrete domain"));
}

TEST_CASE("Gaussian diffusion: schedule and one DDIM step by hand", "[unit][gaussian]") {
  svdd::GaussianDiffusionOptions options;
  options.train_steps = 10;
  options.steps = 5;
  options.beta_start = 0.1;
  options.beta_end = 0.5;
  options.eta = 1.0;
  // Linear betas 0.1, 0.144, ..., 0.5; alpha_bar(i) = prod (1 - beta).
  at::Tensor ab = svdd::alpha_bar_schedule(options);
  REQUIRE(ab.size(0) == 11);
  CHECK(ab[0].item<double>() == 1.0);
  CHECK(ab[1].item<double>() == Approx(0.9));
  CHECK(ab[2].item<double>() == Approx(0.9 * (1 - (0.1 + 0.4 / 9))));
  CHECK(svdd::ddim_timestep(options, 3) == 6);
  CHECK(svdd::ddim_timestep(options, 0) == 0);

  svdd::Domain domain;
  domain.name = "test.gaussian";
  domain.shape = {1};
  auto denoiser = std::make_shared<ConstantNoise>(0.5f);
  auto model = svdd::make_gaussian_diffusion(domain, denoiser, options);
  at::Tensor x_t = at::tensor({1.0f, -2.0f}).view({2, 1});
  auto transition = model->transition(x_t, 3);  // timestep 6 -> 4
  CHECK(denoiser->last_t.equal(at::full({2}, 6.0f)));
  const double a = ab[6].item<double>(), a_prev = ab[4].item<double>();
  const double eps = 0.5;
  for (int i = 0; i < 2; ++i) {
    const double x = x_t[i][0].item<double>();
    const double x0 = (x - std::sqrt(1 - a) * eps) / std::sqrt(a);
    CHECK(transition->x0_hat()[i][0].item<double>() == Approx(x0).epsilon(1e-5));
  }
  // Sample mean and spread against DDIM eq. 12 with eta = 1.
  const double sigma = std::sqrt((1 - a_prev) / (1 - a)) * std::sqrt(1 - a / a_prev);
  const double x0 = (1.0 - std::sqrt(1 - a) * eps) / std::sqrt(a);
  const double mean = std::sqrt(a_prev) * x0 + std::sqrt(1 - a_prev - sigma * sigma) * eps;
  auto generator = at::make_generator<at::CPUGeneratorImpl>(2);
  const int64_t k = 40000;
  at::Tensor children = transition->sample(k, generator).slice(0, 0, k).to(at::kDouble);
  CHECK(std::abs(children.mean().item<double>() - mean) < 5 * sigma / std::sqrt(k));
  CHECK(children.std().item<double>() == Approx(sigma).epsilon(0.02));

  // The last step is deterministic: x_0 = x0_hat.
  auto last = model->transition(x_t, 1);
  CHECK(last->sample(2, generator).allclose(last->x0_hat().repeat_interleave(2, 0)));
}

TEST_CASE("Gaussian diffusion: eta = 0 is deterministic and x0 prediction is supported",
          "[unit][gaussian]") {
  svdd::GaussianDiffusionOptions options;
  options.train_steps = 100;
  options.steps = 10;
  options.eta = 0.0;
  options.prediction = "x0";
  svdd::Domain domain;
  domain.name = "test.gaussian";
  domain.shape = {3};
  auto model =
      svdd::make_gaussian_diffusion(domain, std::make_shared<ConstantNoise>(0.25f), options);
  at::Tensor x_t = at::randn({4, 3});
  auto transition = model->transition(x_t, 5);
  CHECK(transition->x0_hat().allclose(at::full({4, 3}, 0.25f)));
  auto generator = at::make_generator<at::CPUGeneratorImpl>(3);
  at::Tensor a = transition->sample(2, generator);
  CHECK(a.slice(0, 0, 1).equal(a.slice(0, 1, 2)));
}
