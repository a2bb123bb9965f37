// Digit classifiers (see digit_classifier.hpp): two small CNNs over images
// [B, 1, S, S] in [-1, 1], the kind of noise-free MNIST classifier whose
// log-probability guides pixel diffusion in DPS (Chung et al. 2023) and in
// the SVDD paper's image experiments.
//
//   "cnn" (guides):     3x3 conv 16 -> SiLU -> avg pool 2 -> 3x3 conv 32 ->
//                       SiLU -> avg pool 2 -> 3x3 conv 64 -> SiLU ->
//                       adaptive avg pool 3x3 -> dropout -> dense 64 -> SiLU
//                       -> dropout -> 10 logits
//   "cnn_wide" (held out): 5x5 conv 32 -> ReLU -> max pool 2 -> 5x5 conv 48
//                       -> ReLU -> max pool 2 -> adaptive avg pool 3x3 ->
//                       dropout -> dense 96 -> ReLU -> dropout -> 10 logits
//
// The guiding network is smooth (SiLU, average pooling) so its gradient in
// the pixels changes gradually, which gradient guidance needs; the held-out
// one differs in kernels, widths, nonlinearity and pooling, and sees other
// training rows, so optimising one does not carry over to the other for free.
// The adaptive pooling gives both the same weights for S = 28 and S = 14.
//
// The trainer `image.train_classifier` minimises cross-entropy with AdamW
// (cosine learning rate) on shifted (+-shift pixels) and noised copies of
// its rows, since generated digits are neither centred nor clean like
// MNIST's, and reports accuracy and confidence on test rows it never saw.
#include "digit_classifier.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <optional>

#include "digit_data.hpp"
#include "image_domain.hpp"
#include "svdd/error.hpp"
#include "svdd/io/png_image.hpp"
#include "svdd/trainer.hpp"
#include "svdd/training/card.hpp"
#include "svdd/training/epoch_loop.hpp"
#include "svdd/training/finite_weights.hpp"
#include "svdd/util/log.hpp"
#include "svdd/util/seeding.hpp"

namespace svdd::image {

namespace {
constexpr int64_t kDigits = 10;
constexpr int64_t kSmallestSize = 12;  // two 2x poolings leave 3x3 for the last pooling
}  // namespace

void ClassifierNetworkParams::visit(ParamVisitor& v) {
  v.field("architecture", architecture,
          "\"cnn\" (three 3x3 convolutions, SiLU, average pooling: smooth, for guidance) or "
          "\"cnn_wide\" (two 5x5 convolutions, ReLU, max pooling: the held-out evaluator)");
  v.require(architecture == "cnn" || architecture == "cnn_wide", "architecture",
            "must be \"cnn\" or \"cnn_wide\"");
  v.field("dropout", dropout, "dropout before each dense layer while training");
  v.in_half_open_range("dropout", dropout, 0, 1);
}

void ClassifierResults::visit(ParamVisitor& v) {
  v.field("parameters", parameters, "trainable parameters of the network");
  v.field("epochs", epochs, "epochs trained");
  v.field("train_rows", train_rows, "rows trained on");
  v.field("test_rows", test_rows, "rows of the test split");
  v.field("train_loss_per_epoch", train_loss_per_epoch,
          "cross-entropy in nats on the augmented training images, dropout on");
  v.field("initial_test_loss", initial_test_loss, "cross-entropy on the test rows before training");
  v.field("test_loss", test_loss, "cross-entropy on the test rows");
  v.field("test_accuracy", test_accuracy, "share of test rows whose most probable digit is right");
  v.field("test_mean_max_probability", test_mean_max_probability,
          "mean over test rows of the largest class probability");
  v.field("training_seconds", training_seconds, "wall time of the training, in seconds");
}

// ---- the networks ---------------------------------------------------------------

namespace {

// Images [B, 1, S, S] -> logits [B, 10].
struct ClassifierNet : torch::nn::Module {
  virtual torch::Tensor logits(const torch::Tensor& images) = 0;
};

struct GuideCnn final : ClassifierNet {
  explicit GuideCnn(double dropout) : dropout(dropout) {
    conv1 = register_module("conv1", conv(1, 16));
    conv2 = register_module("conv2", conv(16, 32));
    conv3 = register_module("conv3", conv(32, 64));
    hidden = register_module("hidden", torch::nn::Linear(64 * 3 * 3, 64));
    out = register_module("out", torch::nn::Linear(64, kDigits));
  }

  static torch::nn::Conv2d conv(int64_t in, int64_t out) {
    return torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, 3).padding(1));
  }

  torch::Tensor logits(const torch::Tensor& images) override {
    torch::Tensor h = torch::avg_pool2d(torch::silu(conv1(images)), 2);
    h = torch::avg_pool2d(torch::silu(conv2(h)), 2);
    h = torch::adaptive_avg_pool2d(torch::silu(conv3(h)), {3, 3}).flatten(1);
    h = torch::silu(hidden(torch::dropout(h, dropout, is_training())));
    return out(torch::dropout(h, dropout, is_training()));
  }

  double dropout;
  torch::nn::Conv2d conv1{nullptr}, conv2{nullptr}, conv3{nullptr};
  torch::nn::Linear hidden{nullptr}, out{nullptr};
};

struct WideCnn final : ClassifierNet {
  explicit WideCnn(double dropout) : dropout(dropout) {
    conv1 = register_module("conv1", conv(1, 32));
    conv2 = register_module("conv2", conv(32, 48));
    hidden = register_module("hidden", torch::nn::Linear(48 * 3 * 3, 96));
    out = register_module("out", torch::nn::Linear(96, kDigits));
  }

  static torch::nn::Conv2d conv(int64_t in, int64_t out) {
    return torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, 5).padding(2));
  }

  torch::Tensor logits(const torch::Tensor& images) override {
    torch::Tensor h = torch::max_pool2d(torch::relu(conv1(images)), 2);
    h = torch::max_pool2d(torch::relu(conv2(h)), 2);
    h = torch::adaptive_avg_pool2d(h, {3, 3}).flatten(1);
    h = torch::relu(hidden(torch::dropout(h, dropout, is_training())));
    return out(torch::dropout(h, dropout, is_training()));
  }

  double dropout;
  torch::nn::Conv2d conv1{nullptr}, conv2{nullptr};
  torch::nn::Linear hidden{nullptr}, out{nullptr};
};

std::shared_ptr<ClassifierNet> make_network(const ClassifierNetworkParams& p) {
  if (p.architecture == "cnn") return std::make_shared<GuideCnn>(p.dropout);
  if (p.architecture == "cnn_wide") return std::make_shared<WideCnn>(p.dropout);
  throw InputError(fmt::format("digit classifier: unknown architecture '{}' (known: cnn, cnn_wide)",
                               p.architecture));
}

// [input] of the card: the image side the network was trained on.
struct InputCard {
  int64_t channels = 1;
  int64_t size = 28;
  void visit(ParamVisitor& v) {
    v.field("channels", channels, "grey images");
    v.require(channels == 1, "channels", "must be 1");
    v.field("size", size, "side in pixels of the images [1, size, size]");
    v.require(size >= kSmallestSize, "size", "must be at least 12");
  }
};

}  // namespace

// ---- DigitClassifier ------------------------------------------------------------

struct DigitClassifier::Impl {
  ClassifierNetworkParams network;
  int64_t size = 0;
  torch::Device device{torch::kCPU};
  std::shared_ptr<ClassifierNet> net;
};

DigitClassifier::DigitClassifier(const ClassifierNetworkParams& network, int64_t size,
                                 const std::string& device)
    : impl_(std::make_shared<Impl>()) {
  if (size < kSmallestSize) {
    throw InputError(fmt::format("digit classifier: images of side {} are too small (at least {})",
                                 size, kSmallestSize));
  }
  impl_->network = network;
  impl_->size = size;
  impl_->device = torch::Device(device);
  impl_->net = make_network(network);
  impl_->net->to(impl_->device);
  impl_->net->train();
}

DigitClassifier DigitClassifier::load(const std::filesystem::path& checkpoint,
                                      const std::string& device) {
  if (!std::filesystem::is_regular_file(checkpoint)) {
    throw InputError(fmt::format("digit classifier checkpoint not found: {}", checkpoint.string()));
  }
  const auto card = checked_card(checkpoint);
  const auto network = read_card_section<ClassifierNetworkParams>(card, "network");
  const auto input = read_card_section<InputCard>(card, "input");
  DigitClassifier classifier(network, input.size, device);
  try {
    torch::serialize::InputArchive archive;
    archive.load_from(checkpoint.string(), classifier.impl_->device);
    classifier.impl_->net->load(archive);
    require_finite_weights(classifier.impl_->net->parameters(), checkpoint);
  } catch (const c10::Error& e) {
    throw InputError(
        fmt::format("cannot load the digit classifier {} (does its card match it?): {}",
                    checkpoint.string(), e.what_without_backtrace()));
  }
  classifier.impl_->net->to(classifier.impl_->device);
  classifier.set_training(false);
  for (auto& p : classifier.impl_->net->parameters()) p.set_requires_grad(false);
  return classifier;
}

at::Tensor DigitClassifier::log_probabilities(const at::Tensor& images) const {
  const int64_t s = impl_->size;
  if (images.dim() != 4 || images.size(1) != 1 || images.size(2) != s || images.size(3) != s ||
      !images.is_floating_point()) {
    throw RuntimeFailure(fmt::format(
        "the digit classifier takes float images [B, 1, {0}, {0}], got {1} of {2}", s,
        fmt::join(images.sizes(), "x"), std::string(c10::toString(images.scalar_type()))));
  }
  return torch::log_softmax(impl_->net->logits(images.to(impl_->device, torch::kFloat)), 1);
}

at::Tensor DigitClassifier::predict_log_probabilities(const at::Tensor& images,
                                                      int64_t chunk_rows) const {
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> parts;
  for (int64_t b = 0; b < images.size(0); b += chunk_rows) {
    const int64_t e = std::min(images.size(0), b + chunk_rows);
    parts.push_back(log_probabilities(images.slice(0, b, e)).to(torch::kCPU));
  }
  return parts.empty() ? torch::empty({0, kDigits}, torch::kFloat) : torch::cat(parts);
}

void DigitClassifier::set_training(bool training) { impl_->net->train(training); }
std::vector<at::Tensor> DigitClassifier::parameters() const { return impl_->net->parameters(); }

void DigitClassifier::save(const std::filesystem::path& checkpoint) const {
  auto tmp = checkpoint;
  tmp += ".tmp";
  {
    torch::serialize::OutputArchive archive;
    // Saved from the CPU so a checkpoint loads on any device.
    impl_->net->to(torch::kCPU);
    impl_->net->save(archive);
    impl_->net->to(impl_->device);
    archive.save_to(tmp.string());
  }
  std::filesystem::rename(tmp, checkpoint);
}

int64_t DigitClassifier::size() const { return impl_->size; }
const ClassifierNetworkParams& DigitClassifier::network() const { return impl_->network; }

int64_t DigitClassifier::parameter_count() const {
  int64_t n = 0;
  for (const auto& p : impl_->net->parameters()) n += p.numel();
  return n;
}

// ---- the trainer ----------------------------------------------------------------

namespace {

struct ClassifierTrainingParams {
  DigitDataParams data;
  int64_t test_first_row = 8000;
  int64_t test_rows = 2000;
  ClassifierNetworkParams network;
  int64_t epochs = 20;
  int64_t batch_size = 64;
  double learning_rate = 2e-3;
  double weight_decay = 1e-4;
  int64_t shift = 2;
  double noise = 0.2;

  void visit(ParamVisitor& v) {
    data.visit(v);
    v.field("test_first_row", test_first_row,
            "first row of the same files on which accuracy is reported (never trained on)");
    v.non_negative("test_first_row", test_first_row);
    v.field("test_rows", test_rows, "test rows from test_first_row on");
    v.at_least("test_rows", test_rows, 1);
    network.visit(v);
    v.field("epochs", epochs, "passes over the training rows");
    v.at_least("epochs", epochs, 1);
    v.field("batch_size", batch_size, "images per gradient step");
    v.at_least("batch_size", batch_size, 1);
    v.field("learning_rate", learning_rate, "AdamW's peak learning rate (cosine decay to 0)");
    v.positive("learning_rate", learning_rate);
    v.field("weight_decay", weight_decay, "AdamW's weight decay");
    v.non_negative("weight_decay", weight_decay);
    v.field("shift", shift,
            "augmentation: move each training image by up to this many pixels along each axis, "
            "filling with background (-1)");
    v.non_negative("shift", shift);
    v.field("noise", noise,
            "augmentation: add Gaussian noise of a standard deviation drawn uniformly from "
            "[0, noise] per image (pixel units of [-1, 1])");
    v.non_negative("noise", noise);
  }
};

// [data] on the card.
struct ClassifierDataCard {
  std::string images, labels, images_sha1, labels_sha1;
  int64_t rows_in_file = 0, first_row = 0, rows = 0, test_first_row = 0, test_rows = 0;
  void visit(ParamVisitor& v) {
    v.field("images", images, "the IDX image file, relative to the data folder");
    v.field("labels", labels, "the IDX label file, relative to the data folder");
    v.field("images_sha1", images_sha1, "SHA-1 of the image file's bytes");
    v.field("labels_sha1", labels_sha1, "SHA-1 of the label file's bytes");
    v.field("rows_in_file", rows_in_file, "rows the file holds");
    v.field("first_row", first_row, "training rows [first_row, first_row + rows)");
    v.field("rows", rows, "rows read");
    v.field("test_first_row", test_first_row, "test rows [test_first_row, test_first_row + rows)");
    v.field("test_rows", test_rows, "rows of the test split");
  }
};

// Each image [B, 1, S, S] moved by its own uniform -shift..shift pixels
// along each axis, background (-1) filling in.
torch::Tensor shifted(const torch::Tensor& images, int64_t shift, at::Generator& generator) {
  if (shift == 0) return images;
  const int64_t b = images.size(0), s = images.size(2), padded_side = s + 2 * shift;
  const torch::Tensor padded =
      torch::constant_pad_nd(images, {shift, shift, shift, shift}, /*value=*/-1.0);
  const torch::Tensor steps = torch::arange(s, torch::kLong);
  const torch::Tensor top = torch::randint(0, 2 * shift + 1, {b, 1}, generator, torch::kLong);
  const torch::Tensor left = torch::randint(0, 2 * shift + 1, {b, 1}, generator, torch::kLong);
  const torch::Tensor rows = (top + steps).view({b, 1, s, 1}).expand({b, 1, s, padded_side});
  const torch::Tensor cols = (left + steps).view({b, 1, 1, s}).expand({b, 1, s, s});
  return padded.gather(2, rows).gather(3, cols);
}

// Gaussian noise of a per-image standard deviation uniform in [0, noise].
torch::Tensor noised(const torch::Tensor& images, double noise, at::Generator& generator) {
  if (noise == 0) return images;
  const torch::Tensor sd = torch::rand({images.size(0), 1, 1, 1}, generator, torch::kFloat) * noise;
  return images + sd * torch::randn(images.sizes(), generator, torch::kFloat);
}

struct TestFigures {
  double loss = NAN, accuracy = NAN, mean_max_probability = NAN;
};

TestFigures evaluate(const DigitClassifier& classifier, const DigitData& test, int64_t chunk_rows) {
  const torch::Tensor log_p = classifier.predict_log_probabilities(test.images, chunk_rows);
  TestFigures figures;
  figures.loss = torch::nll_loss(log_p, test.labels).item<double>();
  figures.accuracy = log_p.argmax(1).eq(test.labels).to(torch::kDouble).mean().item<double>();
  figures.mean_max_probability = std::get<0>(log_p.max(1)).exp().mean().item<double>();
  return figures;
}

void train_classifier(const ClassifierTrainingParams& p, const TrainContext& context) {
  const auto& build = context.build;
  const DigitData train = load_digits(p.data, build.data_dir);
  DigitDataParams test_params = p.data;
  test_params.first_row = p.test_first_row;
  test_params.rows = p.test_rows;
  const DigitData test = load_digits(test_params, build.data_dir);
  const int64_t n = train.images.size(0);
  const int64_t train_end = p.data.first_row + n, test_end = p.test_first_row + p.test_rows;
  if (p.data.first_row < test_end && p.test_first_row < train_end) {
    throw InputError(fmt::format(
        "image.train_classifier: the test rows [{}, {}) overlap the training rows [{}, {})",
        p.test_first_row, test_end, p.data.first_row, train_end));
  }
  svdd::logger("image")->info("{}: training rows [{}, {}), test rows [{}, {}), {}x{} pixels",
                              train.images_file.string(), p.data.first_row, train_end,
                              p.test_first_row, test_end, p.data.size, p.data.size);

  torch::manual_seed(stream_seed(context.seed, "init", 0));
  DigitClassifier classifier(p.network, p.data.size, build.device);
  const torch::Device device(build.device);
  ClassifierResults results;
  results.parameters = classifier.parameter_count();
  results.train_rows = n;
  results.test_rows = test.images.size(0);
  torch::optim::AdamW optimizer(
      classifier.parameters(),
      torch::optim::AdamWOptions(p.learning_rate).weight_decay(p.weight_decay));
  EpochLoopOptions loop_options;
  loop_options.epochs = p.epochs;
  loop_options.batch_size = p.batch_size;
  loop_options.learning_rate = p.learning_rate;
  loop_options.seed = context.seed;
  EpochLoop loop(loop_options, training_state(context), classifier.parameters(), optimizer, n);
  loop.keep("initial_test_loss", results.initial_test_loss);
  loop.keep("train_loss", results.train_loss_per_epoch);
  loop.keep("epochs", results.epochs);
  if (loop.restore() == 0) {
    classifier.set_training(false);
    results.initial_test_loss = evaluate(classifier, test, build.chunk_rows).loss;
  }
  svdd::logger("image")->info(
      "classifier '{}': {} parameters; {} epochs of {} steps; test loss {:.4f}",
      p.network.architecture, results.parameters, p.epochs, (n + p.batch_size - 1) / p.batch_size,
      results.initial_test_loss);

  EpochLoopHooks hooks;
  hooks.train_mode = [&](bool on) { classifier.set_training(on); };
  hooks.batch_loss = [&](const torch::Tensor& rows, at::Generator& generator) {
    const torch::Tensor x =
        noised(shifted(train.images.index_select(0, rows), p.shift, generator), p.noise, generator);
    const torch::Tensor y = train.labels.index_select(0, rows).to(device);
    return torch::nll_loss(classifier.log_probabilities(x), y);
  };
  hooks.end_epoch = [&](int64_t epoch, double train_loss) {
    results.train_loss_per_epoch.push_back(train_loss);
    results.epochs = epoch + 1;
    return EpochEnd{};
  };
  results.training_seconds = loop.run(hooks).seconds;
  classifier.set_training(false);
  const TestFigures figures = evaluate(classifier, test, build.chunk_rows);
  results.test_loss = figures.loss;
  results.test_accuracy = figures.accuracy;
  results.test_mean_max_probability = figures.mean_max_probability;
  svdd::logger("image")->info(
      "test ({} rows): accuracy {:.4f}, mean max probability {:.4f}, loss {:.4f}; {:.0f} s",
      results.test_rows, results.test_accuracy, results.test_mean_max_probability,
      results.test_loss, results.training_seconds);

  classifier.save(context.checkpoint);
  InputCard input{1, p.data.size};
  ClassifierDataCard data_card{p.data.images,
                               p.data.labels,
                               train.images_sha1,
                               train.labels_sha1,
                               train.rows_in_file,
                               p.data.first_row,
                               n,
                               p.test_first_row,
                               test.images.size(0)};
  ClassifierNetworkParams network = p.network;
  const std::string name = context.checkpoint.filename().string();
  write_training_card(
      context,
      fmt::format("Card of the digit classifier {} (image.train_classifier, '{}').\n"
                  "Use it with [reward] type = \"image.digit_log_prob\", checkpoint = \"{}\",\n"
                  "digit = 0..9, or type = \"image.digit_confidence\", or [metrics.*] type =\n"
                  "\"image.classifier_confidence\". [network] and [input] are read back to\n"
                  "rebuild the network; test_* are on the test rows, which it never saw.",
                  name, p.network.architecture, name),
      params_section("network", [&](ParamVisitor& v) { network.visit(v); }) +
          params_section("input", [&](ParamVisitor& v) { input.visit(v); }) +
          params_section("data", [&](ParamVisitor& v) { data_card.visit(v); }) +
          params_section("results", [&](ParamVisitor& v) { results.visit(v); }));
  svdd::logger("image")->info("wrote {} and {}", context.checkpoint.string(),
                              card_path(context.checkpoint).string());
}

// ---- the rewards and the metric -------------------------------------------------

// The shape [1, S, S] as text, for errors.
std::string shape_text(const std::vector<int64_t>& shape) {
  return fmt::format("[{}]", fmt::join(shape, ", "));
}

void check_domain(const DigitClassifier& classifier, const Domain& domain,
                  const std::string& component, const std::filesystem::path& checkpoint) {
  const std::vector<int64_t> expected{1, classifier.size(), classifier.size()};
  if (domain.discrete() || domain.shape != expected) {
    throw InputError(
        fmt::format("{}: {} classifies images of shape {}, but the run's model '{}' samples {}{}",
                    component, checkpoint.string(), shape_text(expected), domain.name,
                    domain.discrete() ? "tokens of shape " : "shape ", shape_text(domain.shape)));
  }
}

// Rows [B, ...] whose values are all finite -> [B] bool, on x's device.
torch::Tensor finite_rows(const torch::Tensor& x) {
  torch::NoGradGuard no_grad;
  return torch::isfinite(x).flatten(1).all(1);
}

// log p(digit | x): the classifier's log-softmax at `digit`, chunked, with
// the graph kept when the samples require gradients (DPS differentiates it
// through the denoiser's prediction of x_0).
class DigitLogProbReward final : public RewardOracle {
 public:
  static constexpr double kInvalid = -1000;

  DigitLogProbReward(DigitClassifier classifier, int64_t digit, int64_t chunk_rows)
      : classifier_(std::move(classifier)), digit_(digit), chunk_rows_(chunk_rows) {}

  // Images [B, 1, S, S] float -> [B] float64 on the CPU.
  at::Tensor score(const Samples& samples) override {
    const torch::Tensor& x = samples.tensor();
    std::optional<torch::NoGradGuard> no_grad;
    if (!x.requires_grad()) no_grad.emplace();
    const torch::Tensor finite = finite_rows(x);
    // A non-finite row goes through the network as zeros, so that no NaN
    // reaches the other rows' gradients; its score is replaced below.
    const torch::Tensor safe = torch::where(finite.view({-1, 1, 1, 1}), x, torch::zeros_like(x));
    std::vector<torch::Tensor> parts;
    for (int64_t b = 0; b < x.size(0); b += chunk_rows_) {
      const int64_t e = std::min(x.size(0), b + chunk_rows_);
      parts.push_back(classifier_.log_probabilities(safe.slice(0, b, e)).select(1, digit_));
    }
    if (parts.empty()) return torch::empty({0}, torch::kDouble);
    const torch::Tensor scores = torch::cat(parts).to(torch::kCPU, torch::kDouble);
    return torch::where(finite.to(torch::kCPU), scores, torch::full_like(scores, kInvalid));
  }
  bool differentiable() const override { return true; }
  // Far below log p of any finite image in practice (a confident wrong
  // guess is about -30).
  double invalid_value() const override { return kInvalid; }

 private:
  DigitClassifier classifier_;
  int64_t digit_;
  int64_t chunk_rows_;
};

// max_k p(k | x) of each image [B, 1, S, S] -> [B] float64 CPU.
torch::Tensor max_probabilities(const DigitClassifier& classifier, const torch::Tensor& images,
                                int64_t chunk_rows) {
  const torch::Tensor log_p = classifier.predict_log_probabilities(images, chunk_rows);
  return std::get<0>(log_p.max(1)).exp().to(torch::kDouble);
}

class DigitConfidenceReward final : public RewardOracle {
 public:
  DigitConfidenceReward(DigitClassifier classifier, int64_t chunk_rows)
      : classifier_(std::move(classifier)), chunk_rows_(chunk_rows) {}

  at::Tensor score(const Samples& samples) override {
    const torch::Tensor x = samples.tensor().detach();
    const torch::Tensor finite = finite_rows(x);
    const torch::Tensor safe = torch::where(finite.view({-1, 1, 1, 1}), x, torch::zeros_like(x));
    const torch::Tensor scores = max_probabilities(classifier_, safe, chunk_rows_);
    return torch::where(finite.to(torch::kCPU), scores, torch::full_like(scores, 0.0));
  }
  double invalid_value() const override { return 0; }

 private:
  DigitClassifier classifier_;
  int64_t chunk_rows_;
};

// The mean confidence of the decoded samples, read back from their PNG
// data URIs (the 8-bit pictures a reader of samples.csv sees).
class ClassifierConfidenceMetric final : public SampleSetMetric {
 public:
  ClassifierConfidenceMetric(DigitClassifier classifier, int64_t chunk_rows)
      : classifier_(std::move(classifier)), chunk_rows_(chunk_rows) {}

  double compute(const std::vector<std::string>& decoded) override {
    if (decoded.empty()) return NAN;
    std::vector<PngImage> pictures;
    pictures.reserve(decoded.size());
    for (size_t i = 0; i < decoded.size(); ++i) {
      if (!is_png_data_uri(decoded[i])) {
        throw InputError(fmt::format(
            "image.classifier_confidence: sample {} is not a PNG data URI (it begins '{}'); the "
            "metric needs an image model",
            i, decoded[i].substr(0, 24)));
      }
      pictures.push_back(decode_png_data_uri(decoded[i]));
    }
    const torch::Tensor images = from_png_images(pictures);
    const std::vector<int64_t> expected{1, classifier_.size(), classifier_.size()};
    const std::vector<int64_t> got(images.sizes().begin() + 1, images.sizes().end());
    if (got != expected) {
      throw InputError(
          fmt::format("image.classifier_confidence: the classifier takes images of shape {}, the "
                      "samples are {}",
                      shape_text(expected), shape_text(got)));
    }
    return max_probabilities(classifier_, images, chunk_rows_).mean().item<double>();
  }

 private:
  DigitClassifier classifier_;
  int64_t chunk_rows_;
};

struct DigitLogProbParams {
  FilePath checkpoint;
  int64_t digit = 0;
  void visit(ParamVisitor& v) {
    v.field("checkpoint", checkpoint,
            "a classifier written by `svdd train` with an image.train_classifier file (its card "
            "beside it says the architecture and image size)");
    v.require(!checkpoint.path.empty(), "checkpoint", "is required");
    v.field("digit", digit, "the digit whose log-probability is the reward");
    v.require(digit >= 0 && digit <= 9, "digit", "must be a digit 0..9");
  }
};

struct CheckpointParams {
  FilePath checkpoint;
  void visit(ParamVisitor& v) {
    v.field("checkpoint", checkpoint,
            "a classifier written by `svdd train` with an image.train_classifier file");
    v.require(!checkpoint.path.empty(), "checkpoint", "is required");
  }
};

}  // namespace

std::unique_ptr<RewardOracle> digit_log_prob_reward(const std::filesystem::path& checkpoint,
                                                    int64_t digit, const BuildContext& build,
                                                    const Domain& domain) {
  if (digit < 0 || digit > 9) {
    throw InputError(fmt::format("image.digit_log_prob: digit {} is not 0..9", digit));
  }
  DigitClassifier classifier = DigitClassifier::load(checkpoint, build.device);
  check_domain(classifier, domain, "image.digit_log_prob", checkpoint);
  return std::make_unique<DigitLogProbReward>(std::move(classifier), digit, build.chunk_rows);
}

std::unique_ptr<RewardOracle> digit_confidence_reward(const std::filesystem::path& checkpoint,
                                                      const BuildContext& build,
                                                      const Domain& domain) {
  DigitClassifier classifier = DigitClassifier::load(checkpoint, build.device);
  check_domain(classifier, domain, "image.digit_confidence", checkpoint);
  return std::make_unique<DigitConfidenceReward>(std::move(classifier), build.chunk_rows);
}

std::unique_ptr<SampleSetMetric> classifier_confidence_metric(
    const std::filesystem::path& checkpoint, const BuildContext& build, const Domain& domain) {
  DigitClassifier classifier = DigitClassifier::load(checkpoint, build.device);
  check_domain(classifier, domain, "image.classifier_confidence", checkpoint);
  return std::make_unique<ClassifierConfidenceMetric>(std::move(classifier), build.chunk_rows);
}

void register_digit_classifier(Registry& registry) {
  registry.add<svdd::ComponentKind::trainer, ClassifierTrainingParams>(
      "image.train_classifier",
      "trains a digit classifier (cnn: guides; cnn_wide: held out) on rows of MNIST IDX files",
      train_classifier);
  registry.add<svdd::ComponentKind::reward, DigitLogProbParams>(
      "image.digit_log_prob",
      "log p(digit | x) of a trained digit classifier (differentiable in the pixels; a sample "
      "with a non-finite pixel scores -1000)",
      [](const DigitLogProbParams& p, const BuildContext& build, const Domain& domain) {
        return digit_log_prob_reward(p.checkpoint.path, p.digit, build, domain);
      });
  registry.add<svdd::ComponentKind::reward, CheckpointParams>(
      "image.digit_confidence",
      "the largest class probability of a trained digit classifier: does x look like a digit "
      "(not differentiable; a sample with a non-finite pixel scores 0)",
      [](const CheckpointParams& p, const BuildContext& build, const Domain& domain) {
        return digit_confidence_reward(p.checkpoint.path, build, domain);
      });
  registry.add<svdd::ComponentKind::metric, CheckpointParams>(
      "image.classifier_confidence",
      "mean over the decoded samples (PNG data URIs) of a digit classifier's largest class "
      "probability (NaN for no samples)",
      [](const CheckpointParams& p, const BuildContext& build, const Domain& domain) {
        return classifier_confidence_metric(p.checkpoint.path, build, domain);
      });
}

}  // namespace svdd::image
