// The image plugin's Gaussian diffusion: the UNet's shapes and checkpoints,
// a short DDPM training that lowers the held-out loss, and the committed
// MNIST model sampling images through the registry.
#include <fmt/format.h>

#include <filesystem>

#include "catch_torch.hpp"
#include "digit_data.hpp"
#include "image_diffusion.hpp"
#include "image_domain.hpp"
#include "needs_data.hpp"
#include "svdd/config/experiment.hpp"
#include "svdd/error.hpp"
#include "svdd/trainer.hpp"
#include "svdd/training/gaussian_diffusion_training.hpp"
#include "svdd/util/seeding.hpp"
#include "time_unet.hpp"
#include "toy_fixture.hpp"

using namespace svdd::image;

TEST_CASE("the UNet maps images and timesteps to a prediction of the same shape") {
  UNetParams params;
  params.base_channels = 8;
  params.groups = 4;
  at::manual_seed(0);
  for (const ImageShape shape :
       {ImageShape{1, 28, 28}, ImageShape{3, 14, 14}, ImageShape{1, 7, 9}}) {
    INFO(fmt::format("{}x{}x{}", shape.channels, shape.height, shape.width));
    TimeUNet net(params, shape);
    net.train(false);
    const at::Tensor x = at::randn({3, shape.channels, shape.height, shape.width});
    const at::Tensor eps = net.predict(x, at::tensor({1.0f, 500.0f, 1000.0f}));
    CHECK(eps.sizes() == x.sizes());
    CHECK(eps.dtype() == at::kFloat);
    CHECK(at::isfinite(eps).all().item<bool>());
    // The prediction depends on the timestep.
    CHECK_FALSE(
        at::allclose(net.predict(x, at::full({3}, 1.0f)), net.predict(x, at::full({3}, 900.0f))));
  }
  TimeUNet net(params, ImageShape{1, 28, 28});
  CHECK_THROWS_WITH(net.predict(at::zeros({2, 1, 14, 14}), at::ones({2})),
                    Catch::Contains("[B, 1, 28, 28]"));
  CHECK(net.parameter_count() > 1000);

  SECTION("a saved network loads back with the same weights") {
    svdd::test::TempDir dir;
    net.train(false);
    const at::Tensor x = at::randn({2, 1, 28, 28});
    const at::Tensor before = net.predict(x, at::full({2}, 300.0f));
    net.save(dir.path() / "unet.pt");
    at::manual_seed(99);
    TimeUNet other(params, ImageShape{1, 28, 28});
    other.load(dir.path() / "unet.pt");
    other.train(false);
    CHECK(at::allclose(other.predict(x, at::full({2}, 300.0f)), before));
    UNetParams wider = params;
    wider.base_channels = 16;
    TimeUNet mismatched(wider, ImageShape{1, 28, 28});
    CHECK_THROWS_WITH(mismatched.load(dir.path() / "unet.pt"), Catch::Contains("unet.pt"));
  }
}

TEST_CASE("a short DDPM training lowers the held-out loss", "[data]") {
  const auto data_dir = svdd::test::needs_data(
      {"mnist_t10k/t10k-images-idx3-ubyte.gz", "mnist_t10k/t10k-labels-idx1-ubyte.gz"});
  if (!data_dir) return;
  DigitDataParams data;
  data.rows = 256;
  data.size = 14;
  const DigitData train = load_digits(data, *data_dir);
  data.first_row = 8000;
  data.rows = 64;
  const DigitData held_out = load_digits(data, *data_dir);
  UNetParams params;
  params.base_channels = 16;
  params.channel_multipliers = {1, 2};
  at::manual_seed(0);
  TimeUNet net(params, ImageShape{1, 14, 14});
  svdd::GaussianDiffusionOptions schedule;
  svdd::GaussianTrainingOptions options;
  options.epochs = 4;
  options.batch_size = 32;
  options.warmup_steps = 5;
  options.ema_decay = 0.9;
  options.validation_t_points = 4;
  const auto history =
      svdd::train_gaussian_denoiser(net, train.images, held_out.images, schedule, options);
  REQUIRE(history.validation_loss_per_epoch.size() == 4);
  CHECK(history.steps == 4 * 8);
  // An untrained network predicts noise with a loss near 1 (the variance of
  // the noise); 32 steps already learn much of the digits' structure.
  CHECK(history.initial_validation_loss > 0.8);
  CHECK(history.validation_loss_per_epoch.back() < 0.6 * history.initial_validation_loss);
  // The figure does not depend on how rows are batched.
  CHECK(svdd::gaussian_validation_loss(net, held_out.images, schedule, 4, 0, 7) ==
        Approx(history.validation_loss_per_epoch.back()).epsilon(1e-4));
}

TEST_CASE("the committed MNIST model samples images with the data's ink") {
  const std::filesystem::path checkpoint =
      std::filesystem::path(SVDD_SOURCE_DIR) / "experiments/models/mnist_ddpm.pt";
  REQUIRE(std::filesystem::exists(checkpoint));
  LoadedUNet loaded = load_unet(checkpoint, "cpu");
  CHECK(loaded.shape.height == 28);
  CHECK(loaded.schedule.train_steps == 1000);
  const svdd::Domain domain = image_domain(1, 28, 28);
  svdd::GaussianDiffusionOptions sampling = loaded.schedule;
  sampling.steps = 20;
  sampling.clip_x0 = 1.0;
  const at::Tensor x = svdd::sample_gaussian_diffusion(loaded.denoiser, domain, 16, sampling, 5);
  REQUIRE(x.sizes() == at::IntArrayRef({16, 1, 28, 28}));
  // MNIST digits are white strokes on black: about 19% of their pixels are
  // brighter than mid-grey. Noise, or a collapsed model, is far from that.
  const double ink = x.gt(0).to(at::kDouble).mean().item<double>();
  CHECK(ink > 0.08);
  CHECK(ink < 0.35);
  CHECK(domain.decode(x).front().rfind("data:image/png;base64,", 0) == 0);

  SECTION("a checkpoint without its card is refused, naming the card") {
    svdd::test::TempDir dir;
    std::filesystem::copy_file(checkpoint, dir.path() / "lonely.pt");
    CHECK_THROWS_WITH(load_unet(dir.path() / "lonely.pt", "cpu"),
                      Catch::Contains("lonely.card.toml"));
  }
}

namespace {

// The weights (EMA ones) of a DDPM training of random images: straight
// through `epochs`, or stopped after `stop_after` epochs and resumed.
std::vector<at::Tensor> ddpm_weights(const std::filesystem::path& state_file, int64_t epochs,
                                     int64_t stop_after) {
  const at::Tensor x = at::rand({24, 1, 8, 8}, svdd::stream_generator(7, "images")) * 2 - 1;
  UNetParams params;
  params.base_channels = 8;
  params.channel_multipliers = {1};
  params.groups = 4;
  params.dropout = 0.1;  // draws from the default generator, which resume restores
  svdd::GaussianDiffusionOptions schedule;
  schedule.train_steps = 50;
  svdd::GaussianTrainingOptions options;
  options.epochs = epochs;
  options.batch_size = 8;
  options.warmup_steps = 2;
  options.ema_decay = 0.9;
  options.validation_t_points = 2;
  options.state.file = state_file;
  options.state.fingerprint = "[training]\nkind = 'test'\n";
  auto train = [&](bool resume, int64_t stop) {
    at::manual_seed(11);
    TimeUNet net(params, ImageShape{1, 8, 8});
    options.state.resume = resume;
    options.state.stop_after_epoch = stop;
    svdd::train_gaussian_denoiser(net, x, x.slice(0, 0, 4), schedule, options);
    return net.parameters();
  };
  if (stop_after == 0) return train(false, 0);
  CHECK_THROWS_AS(train(false, stop_after), svdd::TrainingStopped);
  return train(true, 0);
}

}  // namespace

TEST_CASE("DDPM training resumed after an epoch gives the uninterrupted weights", "[resume]") {
  svdd::test::TempDir dir;
  const auto straight = ddpm_weights(dir.path() / "a.resume.pt", 3, 0);
  const auto resumed = ddpm_weights(dir.path() / "b.resume.pt", 3, 2);
  REQUIRE(straight.size() == resumed.size());
  for (size_t i = 0; i < straight.size(); ++i) CHECK(at::equal(straight[i], resumed[i]));
}
