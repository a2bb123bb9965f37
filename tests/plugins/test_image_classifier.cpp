// The image plugin's digit classifiers: both architectures' shapes, a short
// training that learns and writes a card, the committed checkpoints on
// MNIST digits no classifier trained on, the log-probability reward against
// log_softmax and finite differences, and the confidence reward and metric
// (from decoded PNG data URIs) with their refusal of other image shapes.
#include <fmt/format.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "catch_torch.hpp"
#include "digit_classifier.hpp"
#include "digit_data.hpp"
#include "image_domain.hpp"
#include "needs_data.hpp"
#include "svdd/config/experiment.hpp"
#include "svdd/error.hpp"
#include "svdd/trainer.hpp"
#include "svdd/training/card.hpp"
#include "toy_fixture.hpp"

using Catch::Contains;
using Catch::Matchers::WithinAbs;
using namespace svdd::image;

namespace {

const std::filesystem::path models_dir =
    std::filesystem::path(SVDD_SOURCE_DIR) / "experiments" / "models";

std::string read_text(const std::filesystem::path& file) {
  std::ifstream in(file);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

ClassifierResults results_of(const std::filesystem::path& checkpoint) {
  return svdd::read_card_section<ClassifierResults>(svdd::card_path(checkpoint), "results");
}

// The MNIST files in the data folder that the tests tagged [data] read.
const std::string kMnistImages = "mnist_t10k/t10k-images-idx3-ubyte.gz";
const std::string kMnistLabels = "mnist_t10k/t10k-labels-idx1-ubyte.gz";

// MNIST t10k rows [first_row, first_row + rows), 28x28; none of them is a
// training row of the committed classifiers when first_row >= 8000.
DigitData digits(int64_t first_row, int64_t rows) {
  DigitDataParams params;
  params.first_row = first_row;
  params.rows = rows;
  return load_digits(params, svdd::default_data_dir());
}

}  // namespace

TEST_CASE("both classifier architectures give ten log-probabilities per image",
          "[image][classifier]") {
  at::manual_seed(0);
  for (const std::string architecture : {"cnn", "cnn_wide"}) {
    for (const int64_t size : {28, 14}) {
      INFO(architecture << " at " << size << "x" << size);
      ClassifierNetworkParams network;
      network.architecture = architecture;
      DigitClassifier classifier(network, size);
      // The adaptive pooling makes the weights independent of the size.
      CHECK(classifier.parameter_count() >= 50000);
      CHECK(classifier.parameter_count() <= 100000);
      const at::Tensor images = at::rand({5, 1, size, size}) * 2 - 1;
      const at::Tensor log_p = classifier.log_probabilities(images);
      REQUIRE(log_p.sizes() == at::IntArrayRef({5, 10}));
      CHECK(log_p.requires_grad());
      CHECK(at::allclose(log_p.exp().sum(1), at::ones({5}), 1e-5, 1e-5));
      CHECK(classifier.predict_log_probabilities(images, 2).sizes() == log_p.sizes());
      CHECK_THROWS_AS(classifier.log_probabilities(at::zeros({2, 1, size + 1, size})),
                      svdd::RuntimeFailure);
    }
  }
  ClassifierNetworkParams unknown;
  unknown.architecture = "resnet";
  CHECK_THROWS_WITH(DigitClassifier(unknown, 28), Contains("resnet") && Contains("cnn_wide"));
  CHECK_THROWS_AS(DigitClassifier(ClassifierNetworkParams{}, 8), svdd::InputError);
}

TEST_CASE("a short classifier training beats chance on the test rows and writes a card",
          "[image][classifier][data]") {
  const auto data = svdd::test::needs_data({kMnistImages, kMnistLabels});
  if (!data) return;
  const std::filesystem::path& data_dir = *data;
  svdd::Registry registry;
  register_digit_classifier(registry);
  svdd::test::TempDir dir;
  auto training_file = [&](int64_t test_first_row) {
    return dir.write("tiny.toml", fmt::format(R"(
[experiment]
seed = 5
threads = 1
data_dir = "{}"
[training]
type = "image.train_classifier"
output = "tiny.pt"
first_row = 0
rows = 400
size = 14
test_first_row = {}
test_rows = 300
architecture = "cnn_wide"
epochs = 6
batch_size = 16
learning_rate = 3e-3
shift = 1
)",
                                              data_dir.string(), test_first_row));
  };
  svdd::TrainingOptions options;
  options.file = training_file(8000);
  svdd::train_component(options, registry);
  const auto checkpoint = dir.path() / "tiny.pt";
  REQUIRE(std::filesystem::exists(checkpoint));
  const ClassifierResults results = results_of(checkpoint);
  CHECK(results.train_rows == 400);
  CHECK(results.test_rows == 300);
  REQUIRE(results.train_loss_per_epoch.size() == 6);
  CHECK(results.train_loss_per_epoch.back() < results.train_loss_per_epoch.front());
  CHECK(results.test_loss < results.initial_test_loss);
  CHECK(results.test_accuracy > 0.5);  // chance is 0.1
  const std::string card = read_text(svdd::card_path(checkpoint));
  CHECK_THAT(card, Contains("[network]") && Contains("architecture = 'cnn_wide'") &&
                       Contains("[input]") && Contains("size = 14") &&
                       Contains("images_sha1 = '") && Contains("test_first_row = 8000"));

  // The checkpoint reads back as the network the card describes.
  const DigitClassifier loaded = DigitClassifier::load(checkpoint);
  CHECK(loaded.size() == 14);
  CHECK(loaded.parameter_count() == results.parameters);
  DigitDataParams test_rows;
  test_rows.first_row = 8000;
  test_rows.rows = 300;
  test_rows.size = 14;
  const DigitData test = load_digits(test_rows, data_dir);
  const at::Tensor guesses = loaded.predict_log_probabilities(test.images, 128).argmax(1);
  CHECK_THAT(guesses.eq(test.labels).to(at::kDouble).mean().item<double>(),
             WithinAbs(results.test_accuracy, 1e-9));

  options.file = training_file(300);
  CHECK_THROWS_WITH(svdd::train_component(options, registry),
                    Contains("[300, 600)") && Contains("overlap") && Contains("[0, 400)"));
}

TEST_CASE("the committed classifiers recognise MNIST digits that no classifier trained on",
          "[image][classifier][data]") {
  if (!svdd::test::needs_data({kMnistImages, kMnistLabels})) return;
  const DigitData test = digits(8000, 400);
  struct Expected {
    std::string checkpoint, architecture;
    double card_accuracy;
  };
  for (const auto& expected : {Expected{"digit_classifier.pt", "cnn", 0.97},
                               Expected{"digit_classifier_heldout.pt", "cnn_wide", 0.96}}) {
    INFO(expected.checkpoint);
    const auto checkpoint = models_dir / expected.checkpoint;
    const DigitClassifier classifier = DigitClassifier::load(checkpoint);
    CHECK(classifier.network().architecture == expected.architecture);
    CHECK(classifier.size() == 28);
    CHECK(std::filesystem::file_size(checkpoint) < 1000000);
    const at::Tensor log_p = classifier.predict_log_probabilities(test.images, 256);
    const double accuracy = log_p.argmax(1).eq(test.labels).to(at::kDouble).mean().item<double>();
    const double confidence = std::get<0>(log_p.max(1)).exp().mean().item<double>();
    CHECK(accuracy >= 0.95);
    CHECK(confidence >= 0.9);
    const ClassifierResults card = results_of(checkpoint);
    CHECK(card.test_accuracy >= expected.card_accuracy);
    CHECK(card.test_rows == 2000);
    CHECK(card.parameters == classifier.parameter_count());
  }
}

TEST_CASE(
    "the digit log-probability reward is the log_softmax of the classifier with exact gradients",
    "[image][classifier][data]") {
  if (!svdd::test::needs_data({kMnistImages, kMnistLabels})) return;
  const svdd::Domain domain = image_domain(1, 28, 28);
  const auto checkpoint = models_dir / "digit_classifier.pt";
  svdd::BuildContext build;
  build.chunk_rows = 3;  // several network calls per batch
  const int64_t digit = 3;
  auto reward = digit_log_prob_reward(checkpoint, digit, build, domain);
  REQUIRE(reward->differentiable());
  const DigitData data = digits(8400, 8);
  const at::Tensor images = data.images;

  const at::Tensor log_p = DigitClassifier::load(checkpoint).predict_log_probabilities(images, 8);
  const at::Tensor scores = reward->score(svdd::Samples(images, domain));
  REQUIRE(scores.scalar_type() == at::kDouble);
  REQUIRE(scores.sizes() == at::IntArrayRef({8}));
  CHECK(at::allclose(scores, log_p.select(1, digit).to(at::kDouble), 1e-5, 1e-5));

  // As DPS calls it: the images come out of a graph (here a scaling) whose
  // leaf requires gradients.
  const at::Tensor leaf = images.clone().requires_grad_(true);
  const at::Tensor through = reward->score(svdd::Samples(leaf * 1.0, domain));
  REQUIRE(through.requires_grad());
  through.sum().backward();
  const at::Tensor grad = leaf.grad();
  REQUIRE(grad.defined());
  CHECK(at::isfinite(grad).all().item<bool>());
  CHECK(grad.abs().sum().item<double>() > 0);
  // Central differences at the pixels of steepest slope and at a few
  // others. The network is smooth (SiLU, average pooling), so they agree to
  // about 2e-4 (float32 rounding), checked.
  const double eps = 1e-2;
  const at::Tensor steepest = std::get<1>(grad.abs().flatten().topk(6));
  const at::Tensor others = at::arange(7, images.numel(), 997, at::kLong);
  for (const at::Tensor& where : {steepest, others}) {
    for (int64_t k = 0; k < where.size(0); ++k) {
      const int64_t flat = where[k].item<int64_t>();
      const int64_t row = flat / (28 * 28);
      at::Tensor up = images.clone(), down = images.clone();
      up.view(-1)[flat] += eps;
      down.view(-1)[flat] -= eps;
      const double numeric = (reward->score(svdd::Samples(up, domain))[row].item<double>() -
                              reward->score(svdd::Samples(down, domain))[row].item<double>()) /
                             (2 * eps);
      const double analytic = grad.view(-1)[flat].item<double>();
      INFO("pixel " << flat << ": numeric " << numeric << ", analytic " << analytic);
      CHECK(std::abs(numeric - analytic) < 1e-3 + 0.005 * std::abs(analytic));
    }
  }

  SECTION("a sample with a non-finite pixel scores invalid_value and spoils no gradient") {
    at::Tensor spoilt = images.clone();
    spoilt[2][0][10][10] = std::nan("");
    const at::Tensor x = spoilt.requires_grad_(true);
    const at::Tensor r = reward->score(svdd::Samples(x, domain));
    CHECK(r[2].item<double>() == reward->invalid_value());
    CHECK(r[0].item<double>() == Approx(scores[0].item<double>()).margin(1e-5));
    r.sum().backward();
    CHECK(at::isfinite(x.grad()).all().item<bool>());
  }
  SECTION("a digit outside 0..9 is refused") {
    CHECK_THROWS_AS(digit_log_prob_reward(checkpoint, 10, build, domain), svdd::InputError);
  }
}

TEST_CASE("classifier confidence reads decoded PNG samples and refuses other image shapes",
          "[image][classifier][data]") {
  if (!svdd::test::needs_data({kMnistImages, kMnistLabels})) return;
  const svdd::Domain domain = image_domain(1, 28, 28);
  const auto checkpoint = models_dir / "digit_classifier_heldout.pt";
  svdd::BuildContext build;
  build.chunk_rows = 16;
  auto confidence = digit_confidence_reward(checkpoint, build, domain);
  auto metric = classifier_confidence_metric(checkpoint, build, domain);
  CHECK_FALSE(confidence->differentiable());

  // Real digits and the same with noise: not 8-bit values any more, so the
  // decoded pictures differ from the tensors by up to half a grey level.
  at::manual_seed(11);
  const at::Tensor clean = digits(8400, 20).images;
  const at::Tensor noisy = (clean + 0.3 * at::randn(clean.sizes())).clamp(-1, 1);
  const at::Tensor images = at::cat({clean, noisy});
  const at::Tensor per_sample = confidence->score(svdd::Samples(images, domain));
  REQUIRE(per_sample.sizes() == at::IntArrayRef({40}));
  CHECK(per_sample.min().item<double>() >= 0.1);
  CHECK(per_sample.max().item<double>() <= 1.0);
  CHECK(per_sample.slice(0, 0, 20).mean().item<double>() >= 0.9);
  const double from_uris = metric->compute(domain.decode(images));
  CHECK_THAT(from_uris, WithinAbs(per_sample.mean().item<double>(), 5e-3));
  CHECK_THAT(metric->compute(domain.decode(clean)),
             WithinAbs(per_sample.slice(0, 0, 20).mean().item<double>(), 1e-6));
  CHECK(std::isnan(metric->compute({})));
  CHECK_THROWS_WITH(metric->compute({"CCO", "CCN"}), Contains("not a PNG data URI"));
  const svdd::Domain small = image_domain(1, 14, 14);
  CHECK_THROWS_WITH(metric->compute(small.decode(at::zeros({2, 1, 14, 14}))),
                    Contains("[1, 28, 28]") && Contains("[1, 14, 14]"));

  SECTION("every component refuses a model of another image shape naming both") {
    CHECK_THROWS_WITH(digit_log_prob_reward(checkpoint, 0, build, small),
                      Contains("[1, 28, 28]") && Contains("[1, 14, 14]"));
    CHECK_THROWS_WITH(digit_confidence_reward(checkpoint, build, small),
                      Contains("[1, 28, 28]") && Contains("[1, 14, 14]"));
    CHECK_THROWS_WITH(classifier_confidence_metric(checkpoint, build, small),
                      Contains("[1, 28, 28]") && Contains("[1, 14, 14]"));
    CHECK_THROWS_WITH(digit_log_prob_reward(checkpoint, 0, build, image_domain(3, 28, 28)),
                      Contains("[3, 28, 28]"));
    CHECK_THROWS_AS(digit_confidence_reward(models_dir / "no_such.pt", build, domain),
                    svdd::InputError);
  }
  SECTION("the registry knows the components by name") {
    svdd::Registry registry;
    register_digit_classifier(registry);
    using Kind = svdd::ComponentKind;
    CHECK(registry.contains(Kind::trainer, "image.train_classifier"));
    CHECK(registry.contains(Kind::reward, "image.digit_log_prob"));
    CHECK(registry.contains(Kind::reward, "image.digit_confidence"));
    CHECK(registry.contains(Kind::metric, "image.classifier_confidence"));
  }
}
