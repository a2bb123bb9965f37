// TorchScript modules from Python: the model image.torchscript_denoiser and
// core's reward torchscript_reward, built from experiment TOML as a run
// builds them. The modules are fixtures/image/*.pt, written by
// make_torchscript_fixtures.py; each has a closed form that these tests
// recompute (the constants below repeat the script's).
#include <fmt/format.h>

#include <cmath>
#include <memory>
#include <string>

#include "catch_torch.hpp"
#include "image_domain.hpp"
#include "svdd/config/experiment.hpp"
#include "svdd/error.hpp"
#include "svdd/methods/guidance_gradient.hpp"
#include "torchscript_denoiser.hpp"
#include "toy_fixture.hpp"

using Catch::Contains;

namespace {

// make_torchscript_fixtures.py: AffineDenoiser's channel mixing A (out x in)
// and offsets b; it predicts eps = A x * (t / 1000) + b per pixel.
const std::vector<float> kMixing = {0.5f, -0.2f, 0.1f, 0.0f, 0.3f, 0.4f, -0.1f, 0.2f, 0.6f};
const std::vector<float> kOffset = {0.05f, -0.1f, 0.2f};
constexpr int64_t kChannels = 3, kHeight = 4, kWidth = 5;
constexpr int64_t kValues = kChannels * kHeight * kWidth;

std::string fixture(const std::string& name) {
  return std::string(SVDD_IMAGE_FIXTURES) + "/" + name;
}

at::Tensor mixing() { return at::tensor(kMixing).view({3, 3}).to(at::kDouble); }

// The closed form of denoiser_affine.pt, in float64.
at::Tensor affine_noise(const at::Tensor& x, double t) {
  return at::einsum("ck,bkhw->bchw", {mixing(), x.to(at::kDouble)}) * (t / 1000.0) +
         at::tensor(kOffset).to(at::kDouble).view({1, 3, 1, 1});
}

// alpha_bar(tau) of DDPM's linear schedule (Ho et al. 2020): beta linear from
// 1e-4 to 0.02 over 1000 steps, computed here independently of core.
double linear_alpha_bar(int64_t tau) {
  const at::Tensor beta = at::linspace(1e-4, 0.02, 1000, at::kDouble);
  return (1 - beta).slice(0, 0, tau).prod().item<double>();
}

// -mean((x - g)^2) of reward_target.pt, g = linspace(-1, 1, D) over each
// sample's D values, and its gradient -2 (x - g) / D.
at::Tensor target_of(const at::Tensor& x) {
  return at::linspace(-1.0, 1.0, x[0].numel(), at::kDouble).view(x[0].sizes());
}
at::Tensor target_closeness(const at::Tensor& x) {
  const at::Tensor d = x.to(at::kDouble) - target_of(x);
  return -(d * d).flatten(1).mean(1);
}

double max_difference(const at::Tensor& a, const at::Tensor& b) {
  return (a.to(at::kDouble) - b.to(at::kDouble)).abs().max().item<double>();
}

// The [model] table of the affine denoiser on 3x4x5 images (no clamping, so
// that x0_hat is exactly Tweedie's formula), plus `extra` lines.
std::string affine_model(const std::string& extra = "") {
  return fmt::format(
      "type = \"image.torchscript_denoiser\"\nfile = '{}'\nchannels = 3\nheight = 4\nwidth = "
      "5\nsteps = 10\nclip_x0 = 0.0\n{}",
      fixture("denoiser_affine.pt"), extra);
}

std::string reward_table(const std::string& file, const std::string& extra = "") {
  return fmt::format("type = \"torchscript_reward\"\nfile = '{}'\n{}", fixture(file), extra);
}

struct Built {
  svdd::Registry registry;
  std::unique_ptr<svdd::DiffusionModel> model;
  std::unique_ptr<svdd::RewardOracle> reward;
};

// The model and reward of an experiment file with these tables, built as a
// run builds them; throws like a run would.
std::unique_ptr<Built> build(const std::string& model_table, const std::string& reward,
                             int64_t chunk_rows = 4096) {
  auto built = std::make_unique<Built>();
  svdd::register_core_components(built->registry);
  svdd::image::register_torchscript_denoiser(built->registry);
  svdd::test::TempDir dir;
  const auto file = dir.write("e.toml", "[model]\n" + model_table + "\n[reward]\n" + reward +
                                            "\n[methods.p]\ntype = \"pretrained\"\n");
  const svdd::Experiment experiment = svdd::load_experiment(file, {}, built->registry);
  svdd::BuildContext context;
  context.chunk_rows = chunk_rows;
  built->model =
      built->registry.make<svdd::ComponentKind::model>(experiment.runs[0].model, context);
  built->reward = built->registry.make<svdd::ComponentKind::reward>(
      experiment.runs[0].reward, context, built->model->domain());
  return built;
}

}  // namespace

TEST_CASE("image.torchscript_denoiser predicts the closed form of its module",
          "[plugins][image][torchscript]") {
  // chunk_rows = 2 with 5 rows: the module sees batches of 2 and 1.
  auto built = build(affine_model("eta = 0.0"), reward_table("reward_brightness.pt"), 2);
  svdd::DiffusionModel& model = *built->model;
  CHECK(model.domain().name == "image.3x4x5");
  CHECK(model.domain().shape == std::vector<int64_t>{kChannels, kHeight, kWidth});
  CHECK(model.num_steps() == 10);

  at::manual_seed(11);
  const at::Tensor x_t = at::randn({5, kChannels, kHeight, kWidth});
  // Step 7 of 10 over N = 1000: training timestep 700, the next one 600.
  const int step = 7;
  const double ab = linear_alpha_bar(700), ab_prev = linear_alpha_bar(600);
  const at::Tensor eps = affine_noise(x_t, 700);
  const at::Tensor x0 = (x_t.to(at::kDouble) - std::sqrt(1 - ab) * eps) / std::sqrt(ab);

  SECTION("x0_hat is Tweedie's formula with the module's noise (DDPM, Ho et al. 2020 eq. 15)") {
    auto transition = model.transition(x_t, step);
    const at::Tensor x0_hat = transition->x0_hat();
    REQUIRE(x0_hat.sizes() == x_t.sizes());
    CHECK(x0_hat.dtype() == at::kFloat);
    CHECK(max_difference(x0_hat, x0) < 1e-5);
    // The module's weights are frozen: no graph unless x_t asks for one.
    CHECK_FALSE(x0_hat.requires_grad());
  }

  SECTION("with eta = 0 a step is deterministic DDIM (Song et al. 2021 eq. 12)") {
    auto transition = model.transition(x_t, step);
    auto generator = at::make_generator<at::CPUGeneratorImpl>(3);
    const at::Tensor next = transition->sample(1, generator);
    const at::Tensor expected = std::sqrt(ab_prev) * x0 + std::sqrt(1 - ab_prev) * eps;
    CHECK(max_difference(next, expected) < 1e-5);
  }

  SECTION("DPS's gradient runs through the module and the reward module") {
    // r = mean(x0_hat) with x0_hat[c] = (x[c] - s (t / 1000) sum_k A[c, k] x[k] - s b[c]) /
    // sqrt(ab), s = sqrt(1 - ab): dr/dx[k] = (1 - s (t / 1000) sum_c A[c, k]) / (sqrt(ab) D).
    const at::Tensor gradient =
        svdd::posterior_mean_reward_gradient(model, *built->reward, x_t, step);
    REQUIRE(gradient.sizes() == x_t.sizes());
    const at::Tensor column_sums = mixing().sum(0).view({1, 3, 1, 1});
    const at::Tensor expected =
        ((1 - std::sqrt(1 - ab) * 0.7 * column_sums) / (std::sqrt(ab) * kValues))
            .expand(x_t.sizes());
    CHECK(max_difference(gradient, expected) < 1e-6);
  }

  SECTION("the same chain rule through reward_target.pt, whose gradient varies per pixel") {
    auto target = build(affine_model(), reward_table("reward_target.pt"));
    const at::Tensor gradient =
        svdd::posterior_mean_reward_gradient(*target->model, *target->reward, x_t, step);
    // dr/dx0 = -2 (x0 - g) / D, pulled back through dx0/dx = (I - s (t / 1000) A) / sqrt(ab).
    const at::Tensor outer = -2 * (x0 - target_of(x0)) / kValues;
    const at::Tensor expected =
        (outer - std::sqrt(1 - ab) * 0.7 * at::einsum("ck,bchw->bkhw", {mixing(), outer})) /
        std::sqrt(ab);
    CHECK(max_difference(gradient, expected) < 1e-5);
  }

  SECTION("prediction = \"x0\" takes the module's output as x0_hat") {
    auto x0_model =
        build(affine_model("prediction = \"x0\""), reward_table("reward_brightness.pt"));
    CHECK(max_difference(x0_model.get()->model->transition(x_t, step)->x0_hat(), eps) < 1e-5);
  }
}

TEST_CASE("image.torchscript_denoiser refuses a wrong module or file with one clear message",
          "[plugins][image][torchscript]") {
  const std::string brightness = reward_table("reward_brightness.pt");
  const std::string expected =
      "expected forward(x: Tensor[B, 3, 4, 5], t: Tensor[B]) -> Tensor[B, 3, 4, 5], the "
      "predicted noise";

  SECTION("an output of another shape") {
    CHECK_THROWS_WITH(
        build("type = \"image.torchscript_denoiser\"\nchannels = 3\nheight = 4\nwidth = 5\nfile "
              "= '" +
                  fixture("denoiser_wrong_shape.pt") + "'",
              brightness),
        Contains("denoiser_wrong_shape.pt: " + expected) &&
            Contains("got forward(x_t: Tensor, t: Tensor) -> Tensor, which returns shape "
                     "[2, 4, 5] for x [2, 3, 4, 5]"));
  }
  SECTION("a forward that takes one tensor") {
    CHECK_THROWS_WITH(build("type = \"image.torchscript_denoiser\"\nchannels = 3\nheight = "
                            "4\nwidth = 5\nfile = '" +
                                fixture("reward_brightness.pt") + "'",
                            brightness),
                      Contains(expected) &&
                          Contains("got forward(x: Tensor) -> Tensor, which fails") &&
                          Contains("but received 3 argument(s)"));
  }
  SECTION("images of another channel count than the module's") {
    CHECK_THROWS_WITH(
        build(
            "type = \"image.torchscript_denoiser\"\nfile = '" + fixture("denoiser_affine.pt") + "'",
            brightness),
        Contains("expected forward(x: Tensor[B, 1, 28, 28]") &&
            Contains("which fails on x [2, 1, 28, 28] and t [2]") && Contains("channels"));
  }
  SECTION("a file that is not TorchScript, a missing file, no file") {
    svdd::test::TempDir dir;
    const auto text = dir.write("not_torchscript.pt", "hello");
    CHECK_THROWS_AS(
        build("type = \"image.torchscript_denoiser\"\nfile = '" + text.string() + "'", brightness),
        svdd::InputError);
    CHECK_THROWS_WITH(
        build("type = \"image.torchscript_denoiser\"\nfile = '" + text.string() + "'", brightness),
        Contains("not_torchscript.pt: cannot be loaded as a TorchScript module") &&
            Contains("torch.jit.save"));
    CHECK_THROWS_AS(
        build("type = \"image.torchscript_denoiser\"\nfile = '/no/such/net.pt'", brightness),
        svdd::InputError);
    CHECK_THROWS_WITH(
        build("type = \"image.torchscript_denoiser\"\nfile = '/no/such/net.pt'", brightness),
        Contains("file not found"));
    CHECK_THROWS_WITH(build("type = \"image.torchscript_denoiser\"", brightness),
                      Contains("file") && Contains("is required"));
  }
}

TEST_CASE("torchscript_reward scores images with the closed form of its module",
          "[plugins][image][torchscript]") {
  at::manual_seed(5);
  at::Tensor x = at::randn({7, kChannels, kHeight, kWidth});

  SECTION("one score per sample: [B] from reward_brightness.pt in chunks of 3 rows") {
    auto built = build(affine_model(), reward_table("reward_brightness.pt"), 3);
    svdd::RewardOracle& reward = *built->reward;
    CHECK(reward.differentiable());
    CHECK(reward.invalid_value() == 0.0);
    const at::Tensor scores = reward.score(svdd::Samples(x, built->model->domain()));
    REQUIRE(scores.sizes() == at::IntArrayRef({7}));
    CHECK(scores.dtype() == at::kDouble);
    CHECK(max_difference(scores, x.flatten(1).mean(1)) < 1e-6);
  }

  SECTION("[B, 1] from reward_target.pt and its gradient by autograd") {
    auto built = build(affine_model(), reward_table("reward_target.pt"), 3);
    const at::Tensor input = x.clone().requires_grad_(true);
    const at::Tensor scores = built->reward->score(svdd::Samples(input, built->model->domain()));
    REQUIRE(scores.sizes() == at::IntArrayRef({7}));
    CHECK(max_difference(scores, target_closeness(x)) < 1e-6);
    REQUIRE(scores.requires_grad());
    scores.sum().backward();
    const at::Tensor expected = -2 * (x.to(at::kDouble) - target_of(x)) / kValues;
    CHECK(max_difference(input.grad(), expected) < 1e-6);
  }

  SECTION("invalid rows and non-finite outputs score invalid_value and leave the others alone") {
    auto built = build(affine_model(), reward_table("reward_sqrt_brightness.pt",
                                                    "invalid_value = -5.0\ndifferentiable = true"));
    at::Tensor input = x.abs();  // positive means: sqrt is finite
    input[1][0][0][0] = NAN;     // an invalid sample
    input[4] = -input[4];        // a valid sample whose score is NaN (sqrt of a negative mean)
    input.requires_grad_(true);
    const at::Tensor scores = built->reward->score(svdd::Samples(input, built->model->domain()));
    REQUIRE(scores.sizes() == at::IntArrayRef({7}));
    CHECK(scores[1].item<double>() == -5.0);
    CHECK(scores[4].item<double>() == -5.0);
    const at::Tensor valid = at::tensor({0, 2, 3, 5, 6}, at::kLong);
    const at::Tensor means = x.abs().flatten(1).mean(1).sqrt();
    CHECK(max_difference(scores.index_select(0, valid), means.index_select(0, valid)) < 1e-6);
    scores.sum().backward();
    // The invalid row reaches the module as zeros: no NaN in any gradient.
    CHECK(at::isfinite(input.grad().index_select(0, valid)).all().item<bool>());
    CHECK(input.grad()[1].abs().max().item<double>() == 0.0);
  }

  SECTION("more than half of a call scoring NaN stops the run; invalid samples do not count") {
    // kMostNumericFailureShare = 0.5 of the 7 rows: 3 NaN scores are tolerated, 4 are not.
    auto built = build(affine_model(), reward_table("reward_sqrt_brightness.pt"));
    auto scores_with_negative_means = [&](int64_t negative_rows, int64_t invalid_rows) {
      at::Tensor input = x.abs();
      for (int64_t i = 0; i < negative_rows; ++i) input[i] = -input[i];
      for (int64_t i = 0; i < invalid_rows; ++i) input[6 - i][0][0][0] = NAN;
      return built->reward->score(svdd::Samples(input, built->model->domain()));
    };
    CHECK(scores_with_negative_means(3, 0)[2].item<double>() == 0.0);
    CHECK_THROWS_AS(scores_with_negative_means(4, 0), svdd::RuntimeFailure);
    CHECK_THROWS_WITH(
        scores_with_negative_means(7, 0),
        Contains("reward_sqrt_brightness.pt: 7 of 7 samples scored NaN or infinity") &&
            Contains("more than the 50%"));
    // Six samples invalid in their domain (a NaN pixel) and one valid one:
    // the reward is not broken, its samples are.
    CHECK(scores_with_negative_means(0, 6)[6].item<double>() == 0.0);
  }

  SECTION("differentiable = false is reported and keeps no graph") {
    auto built =
        build(affine_model(), reward_table("reward_brightness.pt", "differentiable = false"));
    CHECK_FALSE(built->reward->differentiable());
    const at::Tensor input = x.clone().requires_grad_(true);
    const at::Tensor scores = built->reward->score(svdd::Samples(input, built->model->domain()));
    CHECK_FALSE(scores.requires_grad());
    CHECK(max_difference(scores, x.flatten(1).mean(1)) < 1e-6);
  }
}

TEST_CASE("torchscript_reward gives token ids as one-hot rows and takes probabilities as they are",
          "[plugins][image][torchscript]") {
  // toy.categorical with 3 letters: V = 4 ids, the mask token being id 3.
  const std::string toy = "type = \"toy.categorical\"\nlength = 4\nvocab = 3\nsteps = 8";
  auto built = build(toy, reward_table("reward_token0.pt", "invalid_value = -1.0"));
  const svdd::Domain& domain = built->model->domain();
  REQUIRE(domain.vocab_size == 4);
  // Cross-check against core's toy.token_count: the share of 'A' (id 0).
  auto share = build(toy, "type = \"toy.token_count\"\ntoken = \"A\"");

  SECTION("token ids: the count of id 0, and ids outside [0, V) are invalid") {
    const at::Tensor ids = at::tensor({0, 0, 1, 2, 1, 1, 3, 1, 0, 0, 0, 0}, at::kLong).view({3, 4});
    const at::Tensor scores = built->reward->score(svdd::Samples(ids, domain));
    CHECK(max_difference(scores, at::tensor({2.0, 0.0, 4.0}, at::kDouble)) == 0.0);
    CHECK(max_difference(scores, 4 * share->reward->score(svdd::Samples(ids, domain))) == 0.0);
    const at::Tensor bad = at::tensor({0, 7, 0, 0, 0, -1, 0, 0}, at::kLong).view({2, 4});
    CHECK(max_difference(built->reward->score(svdd::Samples(bad, domain)),
                         at::tensor({-1.0, -1.0}, at::kDouble)) == 0.0);
  }

  SECTION("probabilities from a transition: the expected count and its gradient for DPS") {
    auto generator = at::make_generator<at::CPUGeneratorImpl>(2);
    const at::Tensor x_t = built->model->prior(6, generator);
    auto transition = built->model->transition(x_t, built->model->num_steps());
    const at::Tensor p = transition->x0_probs();
    REQUIRE(p.sizes() == at::IntArrayRef({6, 4, 4}));
    const at::Tensor scores = built->reward->score(svdd::Samples(p, domain));
    CHECK(max_difference(scores, p.select(2, 0).sum(1)) < 1e-6);
    const at::Tensor gradient =
        svdd::x0_probability_reward_gradient(*transition, *built->reward, domain);
    // d/dp of sum_l p[l, 0]: 1 on token 0 at every position, 0 elsewhere.
    const at::Tensor expected = at::one_hot(at::zeros({6, 4}, at::kLong), 4).to(at::kFloat);
    CHECK(max_difference(gradient, expected) == 0.0);
  }
}

TEST_CASE("torchscript_reward refuses modules that do not give one score per sample",
          "[plugins][image][torchscript]") {
  const std::string expected =
      "expected forward(x: Tensor[B, 3, 4, 5]) -> Tensor[B] or Tensor[B, 1], one score per "
      "sample of domain 'image.3x4x5'; got ";
  CHECK_THROWS_WITH(build(affine_model(), reward_table("reward_two_scores.pt")),
                    Contains("reward_two_scores.pt: " + expected +
                             "forward(x: Tensor) -> Tensor, which returns shape [2, 2] for a "
                             "batch [2, 3, 4, 5]"));
  CHECK_THROWS_WITH(build(affine_model(), reward_table("reward_two_inputs.pt")),
                    Contains("reward_two_inputs.pt: " + expected +
                             "forward(x: Tensor, y: Tensor) -> Tensor, which fails on a batch "
                             "[2, 3, 4, 5]") &&
                        Contains("missing value for argument 'y'"));
  CHECK_THROWS_WITH(build(affine_model(), reward_table("reward_tuple.pt")),
                    Contains("reward_tuple.pt: " + expected +
                             "forward(x: Tensor) -> Tuple[Tensor, Tensor], which returns a Tuple"));
  CHECK_THROWS_AS(build(affine_model(), reward_table("reward_tuple.pt")), svdd::InputError);
  // Discrete domains name the one-hot input.
  CHECK_THROWS_WITH(build("type = \"toy.categorical\"", reward_table("reward_two_scores.pt")),
                    Contains("expected forward(x: Tensor[B, 4, 5] (one-hot tokens))"));

  svdd::test::TempDir dir;
  const auto text = dir.write("scores.pt", "not a zip archive");
  CHECK_THROWS_WITH(
      build(affine_model(), "type = \"torchscript_reward\"\nfile = '" + text.string() + "'"),
      Contains("scores.pt: cannot be loaded as a TorchScript module"));
  CHECK_THROWS_WITH(
      build(affine_model(), reward_table("reward_brightness.pt", "invalid_value = nan")),
      Contains("invalid_value") && Contains("must be a finite number"));
}
