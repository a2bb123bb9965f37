// torchscript_ddpm (issue 14 item 2): a 1-D Gaussian mixture's exact
// denoiser, exported as TorchScript predicting the noise, x_0 or v, samples
// what the built-in toy.gmm samples (the same draws, to float precision) and
// the mixture's moments; the diffusers schedules and an alphas_cumprod file
// give the alpha-bar they should; every wrong module or table is refused
// when the run is built, in one message.
#include <fmt/format.h>

#include <cmath>

#include "catch_torch.hpp"
#include "svdd/error.hpp"
#include "svdd/families/gaussian_diffusion.hpp"
#include "svdd/families/torchscript_ddpm.hpp"
#include "torchscript_modules.hpp"
#include "toy_fixture.hpp"

using Catch::Contains;
using svdd::test::TempDir;
using svdd::test::ToyFixture;

namespace {

constexpr int kTrainSteps = 1000;

// The exact prediction of the mixture 0.5 N(-2, 0.5^2) + 0.5 N(2, 0.5^2)
// noised by the linear DDPM schedule: eps = -sqrt(1 - ab) * score of the
// noised mixture, x_0 by Tweedie, v = sqrt(ab) eps - sqrt(1 - ab) x_0.
// `step` turns the module's t into the training step in [1, N].
std::string mixture_body(const std::string& prediction, const std::string& step) {
  return fmt::format(
      "    beta = 0.0001 + (0.02 - 0.0001) * torch.arange({0}).double() / {1}.0\n"
      "    ab_all = torch.cumprod(1.0 - beta, 0)\n"
      "    step = {2}\n"
      "    ab = ab_all[torch.round(step).long() - 1].unsqueeze(1)\n"
      "    xd = x.double()\n"
      "    m = torch.tensor([-2.0, 2.0]).double()\n"
      "    var = ab * 0.25 + 1.0 - ab\n"
      "    diff = xd - ab.sqrt() * m\n"
      "    resp = torch.softmax(-0.5 * diff * diff / var, 1)\n"
      "    score = -(resp * diff / var).sum(1, keepdim=True)\n"
      "    eps = -(1.0 - ab).sqrt() * score\n"
      "    x0 = (xd - (1.0 - ab).sqrt() * eps) / ab.sqrt()\n"
      "    v = ab.sqrt() * eps - (1.0 - ab).sqrt() * x0\n"
      "    return {3}.float()",
      kTrainSteps, kTrainSteps - 1, step, prediction);
}

const std::string kReward = "[reward]\ntype = \"toy.position_reward\"\ncentre = [2.0]\n";
const std::string kPretrained = "[methods.pretrained]\ntype = \"pretrained\"\n";

std::string ddpm_table(const std::filesystem::path& file, const std::string& extra = "") {
  return fmt::format(
      "[model]\ntype = \"torchscript_ddpm\"\nfile = '{}'\nshape = [1]\nsteps = 100\n{}",
      file.string(), extra);
}

std::string experiment(const std::string& model_table) {
  return "[experiment]\nname = \"t\"\n" + model_table + kReward + kPretrained;
}

std::string build_error(const std::string& model_table) {
  try {
    ToyFixture built(experiment(model_table));
  } catch (const svdd::InputError& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST_CASE("torchscript_ddpm with the exact mixture denoiser samples the mixture",
          "[unit][torchscript_ddpm]") {
  TempDir dir;
  const auto module = [&](const std::string& name, const std::string& prediction,
                          const std::string& step = "t") {
    return svdd::test::write_module(dir.path() / (name + ".pt"), "x: Tensor, t: Tensor",
                                    mixture_body(prediction, step));
  };
  ToyFixture toy(experiment(
      "[model]\ntype = \"toy.gmm\"\ndim = 1\nmeans = [-2.0, 2.0]\nstds = [0.5, 0.5]\nweights = "
      "[0.5, 0.5]\nsteps = 100\n"));
  const int64_t n = 4000;
  const at::Tensor built_in = toy.decode("pretrained", n, 7).samples.to(at::kDouble);

  // The same seed draws the same prior and noise: every prediction and time
  // convention must give the built-in toy's samples to float precision.
  const std::vector<std::pair<std::string, std::string>> variants{
      {"epsilon", ddpm_table(module("eps", "eps"))},
      {"x0", ddpm_table(module("x0", "x0"), "prediction = \"x0\"\n")},
      {"v", ddpm_table(module("v", "v"), "prediction = \"v\"\n")},
      {"index", ddpm_table(module("index", "eps", "t + 1.0"), "time_input = \"index\"\n")},
      {"fraction",
       ddpm_table(module("fraction", "eps", "t * 1000.0"), "time_input = \"fraction\"\n")}};
  for (const auto& [name, table] : variants) {
    ToyFixture mine(experiment(table));
    const at::Tensor samples = mine.decode("pretrained", n, 7).samples.to(at::kDouble);
    const double largest = (samples - built_in).abs().max().item<double>();
    INFO(name << ": largest difference from toy.gmm " << largest);
    CHECK(largest < 1e-3);
    // Moments of 0.5 N(-2, 0.25) + 0.5 N(2, 0.25): mean 0, variance 4.25.
    // Standard errors at n = 4000: sqrt(4.25 / n) = 0.033 for the mean and
    // sqrt((E x^4 - 4.25^2) / n) = 0.032 for the variance; 5 of each, plus
    // 0.05 for the 100-step discretisation of the variance.
    const double mean = samples.mean().item<double>();
    const double variance = samples.var().item<double>();
    INFO(name << ": mean " << mean << ", variance " << variance);
    CHECK(std::abs(mean) < 5 * 0.033);
    CHECK(std::abs(variance - 4.25) < 5 * 0.032 + 0.05);
  }
}

TEST_CASE("Gaussian schedules follow diffusers' definitions", "[unit][torchscript_ddpm]") {
  svdd::GaussianDiffusionOptions o;
  o.train_steps = 10;
  o.beta_start = 0.00085;
  o.beta_end = 0.012;
  o.schedule = "scaled_linear";
  const at::Tensor scaled = svdd::alpha_bar_schedule(o);
  double product = 1;
  for (int i = 0; i < 10; ++i) {
    const double root = std::sqrt(0.00085) + (std::sqrt(0.012) - std::sqrt(0.00085)) * i / 9;
    product *= 1 - root * root;
    CHECK(scaled[i + 1].item<double>() == Approx(product).epsilon(1e-12));
  }
  o.schedule = "cosine";
  const at::Tensor cosine = svdd::alpha_bar_schedule(o);
  o.schedule = "squaredcos_cap_v2";
  CHECK(at::equal(cosine, svdd::alpha_bar_schedule(o)));

  TempDir dir;
  o.schedule = "linear";
  const at::Tensor linear = svdd::alpha_bar_schedule(o);
  std::string text;
  for (int i = 1; i <= 10; ++i)
    text += fmt::format("{:.17g}{}", linear[i].item<double>(), i % 3 ? ", " : "\n");
  o.alphas_cumprod = svdd::read_alphas_cumprod(dir.write("ab.txt", text));
  CHECK(at::allclose(svdd::alpha_bar_schedule(o), linear, 0, 1e-15));

  CHECK_THROWS_WITH(svdd::read_alphas_cumprod(dir.write("word.txt", "0.9\nabc\n")),
                    Contains("word.txt: value 2 ('abc') is not a number"));
  CHECK_THROWS_WITH(svdd::read_alphas_cumprod(dir.write("rise.txt", "0.9 0.95")),
                    Contains("rise.txt: value 2 ('0.95') is larger than the one before it"));
  CHECK_THROWS_WITH(svdd::read_alphas_cumprod(dir.write("zero.txt", "0.9 0")),
                    Contains("value 2 ('0') is outside (0, 1]"));
  CHECK_THROWS_WITH(svdd::read_alphas_cumprod(dir.write("empty.txt", "\n")),
                    Contains("empty.txt holds no numbers"));
  CHECK_THROWS_WITH(svdd::read_alphas_cumprod(dir.path() / "missing.txt"),
                    Contains("cannot read") && Contains("missing.txt"));
}

TEST_CASE("torchscript_ddpm refuses a module or table that does not fit, in one message",
          "[unit][torchscript_ddpm]") {
  TempDir dir;
  const auto module = [&](const std::string& name, const std::string& body,
                          const std::string& signature = "x: Tensor, t: Tensor") {
    return svdd::test::write_module(dir.path() / (name + ".pt"), signature, body);
  };
  const auto identity = module("identity", "    return x");
  CHECK(build_error(ddpm_table(identity)) == "(no error)");
  CHECK_THAT(build_error(ddpm_table(module("shape", "    return x.reshape([x.size(0)])"))),
             Contains("shape.pt: expected forward(x: Tensor[B, 1], t: Tensor[B]) -> Tensor[B, 1], "
                      "the predicted noise at the float32 training timestep t in [1, 1000]") &&
                 Contains("which returns shape [2] for x [2, 1]"));
  CHECK_THAT(build_error(ddpm_table(module("two", "    return x, x"))),
             Contains("which returns a Tuple, not a tensor"));
  CHECK_THAT(build_error(ddpm_table(module("one_input", "    return x", "x: Tensor"))),
             Contains("got forward(x: Tensor) -> Tensor, which fails on x [2, 1] and t [2]"));
  CHECK_THAT(build_error(ddpm_table(dir.write("text.pt", "not a module"))), Contains("text.pt"));
  CHECK_THAT(build_error(ddpm_table(dir.path() / "missing.pt")), Contains("missing.pt"));
  CHECK_THAT(build_error(ddpm_table(identity, "prediction = \"v\"\ntime_input = \"index\"\n")),
             Contains("(no error)"));
  CHECK_THAT(build_error(ddpm_table(identity, "prediction = \"score\"\n")),
             Contains("prediction: must be epsilon, x0 or v, not \"score\""));
  CHECK_THAT(build_error(ddpm_table(identity, "schedule = \"sigmoid\"\n")),
             Contains("schedule: must be linear, scaled_linear, cosine or squaredcos_cap_v2, not "
                      "\"sigmoid\""));
  CHECK_THAT(
      build_error(ddpm_table(identity, fmt::format("alphas_cumprod = '{}'\n",
                                                   dir.write("ab.txt", "0.9 0.8 0.7").string()))),
      Contains("ab.txt holds 3 values; train_steps = 1000"));
  CHECK_THAT(build_error(ddpm_table(identity, "domain = \"image\"\n")),
             Contains("unknown domain 'image'"));
  CHECK_THAT(build_error("[model]\ntype = \"torchscript_ddpm\"\nfile = '" + identity.string() +
                         "'\nshape = [0, 3]\n"),
             Contains("shape") && Contains("sizes must be in [1, 1000000]"));
  // The module's own failure while sampling is a failure of the run, named.
  ToyFixture failing(
      experiment(ddpm_table(module("fails_late", "    assert x.size(0) == 2\n    return x"))));
  CHECK_THROWS_AS(failing.decode("pretrained", 4, 1), svdd::RuntimeFailure);
}
