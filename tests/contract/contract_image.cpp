// The image plugin's models, rewards, metric and trainers under the shared
// contract, with the committed MNIST model and classifiers.
#include <ATen/CPUGeneratorImpl.h>

#include "catch_torch.hpp"
#include "contract.hpp"
#include "digit_classifier.hpp"
#include "image_diffusion.hpp"
#include "image_domain.hpp"
#include "jpeg_compressibility.hpp"
#include "svdd/error.hpp"
#include "svdd/training/value_network.hpp"
#include "time_cnn_value.hpp"
#include "torchscript_denoiser.hpp"

using namespace svdd::contract;

namespace {

void register_image(svdd::Registry& registry) {
  svdd::image::register_image_domain(registry);
  svdd::image::register_image_diffusion(registry);
  svdd::image::register_jpeg_compressibility(registry);
  svdd::image::register_digit_classifier(registry);
  svdd::image::register_torchscript_denoiser(registry);
  svdd::image::register_time_cnn_value(registry);
}

const std::string kDdpm =
    "type = \"image.ddpm\"\ncheckpoint = \"{experiments}/models/mnist_ddpm.pt\"\nsteps = 3";
const std::string kTorchScript =
    "type = \"image.torchscript_denoiser\"\nfile = '" + std::string(SVDD_IMAGE_FIXTURES) +
    "/denoiser_affine.pt'\nchannels = 3\nheight = 4\nwidth = 5\nsteps = 4";

const std::vector<std::string> kRewards = {
    "type = \"image.jpeg_compressibility\"\nquality = 95",
    "type = \"image.digit_log_prob\"\ncheckpoint = "
    "\"{experiments}/models/digit_classifier.pt\"\ndigit = 3",
    "type = \"image.digit_confidence\"\ncheckpoint = "
    "\"{experiments}/models/digit_classifier_heldout.pt\"",
};
const std::string kConfidence =
    "type = \"image.classifier_confidence\"\ncheckpoint = "
    "\"{experiments}/models/digit_classifier_heldout.pt\"";

// Pictures of a domain with pixels in [-1, 1]: [n, C, H, W] float32.
at::Tensor pictures(const svdd::Domain& d, int64_t n) {
  std::vector<int64_t> shape{n};
  shape.insert(shape.end(), d.shape.begin(), d.shape.end());
  return at::rand(shape) * 2 - 1;
}

}  // namespace

TEST_CASE("image models keep the model contract", "[contract][image]") {
  const Workshop workshop(register_image);
  check_model(workshop, kDdpm);
  check_model(workshop, kTorchScript);
}

TEST_CASE("image rewards keep the reward contract", "[contract][image]") {
  const Workshop workshop(register_image);
  const svdd::Domain digits = workshop.model(kDdpm)->domain();
  const svdd::Domain small = workshop.model(kTorchScript)->domain();
  for (const auto& table : kRewards) {
    check_reward(workshop, {table, digits, pictures(digits, 3), {}, {token_domain()}});
  }
  // JPEG takes any picture; a classifier only its own size.
  check_reward(workshop, {kRewards[0], small, pictures(small, 2), {}, {token_domain()}});
  for (size_t i = 1; i < kRewards.size(); ++i) {
    CHECK_THROWS_AS(workshop.reward(kRewards[i], small), svdd::InputError);
  }
}

TEST_CASE("classifier confidence keeps the metric contract", "[contract][image]") {
  const Workshop workshop(register_image);
  const svdd::Domain digits = workshop.model(kDdpm)->domain();
  const svdd::Domain small = workshop.model(kTorchScript)->domain();
  check_metric(workshop, {kConfidence, digits, pictures(digits, 4), {token_domain(), small}});
}

TEST_CASE("image trainers refuse a bad table naming the key", "[contract][image]") {
  const Workshop workshop(register_image);
  check_trainer(workshop, "pretrain/mnist_ddpm.toml");
  check_trainer(workshop, "pretrain/digit_classifier.toml");
}

TEST_CASE("the time-conditioned CNN value network keeps the value-network contract",
          "[contract][image]") {
  const Workshop workshop(register_image);
  svdd::Domain small = picture_domain();
  small.shape = {1, 8, 8};
  check_value_network(workshop, {"type = \"image.time_cnn\"\nbase_channels = 8\n"
                                 "channel_multipliers = [1, 2]\ngroups = 4\nhead = 16",
                                 small, 16, picture_domain()});
  // The MNIST denoiser's encoder fits every layer but the head's (norm, two
  // linear layers: six tensors).
  const svdd::Domain mnist = workshop.model(kDdpm)->domain();
  auto generator = at::make_generator<at::CPUGeneratorImpl>(0);
  svdd::ValueNetwork network(
      workshop.registry(),
      svdd::parse_component("type = \"image.time_cnn\"\nbase_channels = 24", "network"), mnist, 3,
      generator);
  const auto [copied, parameters] = network.warm_start(std::filesystem::path(SVDD_SOURCE_DIR) /
                                                       "experiments/models/mnist_ddpm.pt");
  CHECK(copied == parameters - 6);
}

TEST_CASE("every image component is under contract", "[contract][image]") {
  std::vector<std::string> names = {type_of(kDdpm),           type_of(kTorchScript),
                                    type_of(kConfidence),     "image.train_ddpm",
                                    "image.train_classifier", "image.time_cnn"};
  for (const auto& table : kRewards) names.push_back(type_of(table));
  check_coverage(register_image, names);
}

// core's torchscript_ddpm named into the image domain is the plugin's
// image.torchscript_denoiser: the same module gives the same samples.
TEST_CASE("a TorchScript model in the domain image keeps the contracts", "[contract][image]") {
  const Workshop workshop(register_image);
  const std::string table = "type = \"torchscript_ddpm\"\nfile = '" +
                            std::string(SVDD_IMAGE_FIXTURES) +
                            "/denoiser_affine.pt'\ndomain = \"image\"\nshape = [3, 4, 5]\nsteps = "
                            "4\nclip_x0 = 1.0";
  check_model(workshop, table);
  auto mine = workshop.model(table);
  auto plugin = workshop.model(kTorchScript);
  CHECK(mine->domain().name == plugin->domain().name);
  CHECK(bool(mine->domain().picture));
  at::Generator a = at::make_generator<at::CPUGeneratorImpl>(5);
  at::Generator b = at::make_generator<at::CPUGeneratorImpl>(5);
  at::Tensor x = mine->prior(2, a), y = plugin->prior(2, b);
  for (int step = mine->num_steps(); step >= 1; --step) {
    x = mine->transition(x, step)->sample(1, a);
    y = plugin->transition(y, step)->sample(1, b);
  }
  CHECK(at::equal(x, y));
  check_reward(workshop, {kRewards[0], mine->domain(), pictures(mine->domain(), 2)});
  CHECK_THROWS_WITH(
      workshop.model("type = \"torchscript_ddpm\"\nfile = '" + std::string(SVDD_IMAGE_FIXTURES) +
                     "/denoiser_affine.pt'\ndomain = \"image\"\nshape = [12]"),
      Catch::Contains("domain 'image': images have the shape [C, H, W], not [12]"));
}
