// Digit classifiers of the image plugin: small convolutional networks that
// say which digit (0-9) an image [1, S, S] shows, trained by `svdd train` on
// MNIST rows (digit_data.hpp). Two architectures, trained on disjoint rows:
// "cnn" guides (its log-probability is a differentiable reward for DPS and
// classifier guidance) and "cnn_wide" is held out for evaluation, so that a
// sample which fools the guiding network is exposed by the other one.
//
// Registers the trainer `image.train_classifier`, the rewards
// `image.digit_log_prob` (log p(digit | x), differentiable) and
// `image.digit_confidence` (the largest class probability), and the metric
// `image.classifier_confidence` (its mean over a run's decoded samples: does
// a sample look like any digit at all). The networks, the training loop and
// the components live in digit_classifier.cpp; this header keeps libtorch
// out of its includers.
#pragma once

#include <ATen/core/Tensor.h>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "svdd/params.hpp"
#include "svdd/registry.hpp"

namespace svdd::image {

// image.train_classifier, image.digit_log_prob, image.digit_confidence and
// image.classifier_confidence.
void register_digit_classifier(Registry& registry);

// [network] of a classifier's card: what a checkpoint is rebuilt from.
struct ClassifierNetworkParams {
  // "cnn": three 3x3 convolutions (16, 32, 64 channels) with SiLU and average
  // pooling, a dense layer of 64; smooth, so its input gradient guides well.
  // "cnn_wide": two 5x5 convolutions (32, 48 channels) with ReLU and max
  // pooling, a dense layer of 96; the held-out evaluator.
  std::string architecture = "cnn";
  double dropout = 0.25;  // before each dense layer, while training
  void visit(ParamVisitor& v);
};

// A classifier network, freshly initialised (from libtorch's global seed)
// or loaded from a checkpoint of image.train_classifier. Copies share the
// network. Not thread-safe.
class DigitClassifier {
 public:
  // A new network for images [B, 1, size, size] on `device`, in training
  // mode. InputError for an unknown architecture or a size below 12.
  DigitClassifier(const ClassifierNetworkParams& network, int64_t size,
                  const std::string& device = "cpu");
  // The checkpoint and its card ([network], [input]); in evaluation mode,
  // its weights frozen (gradients still reach the input). InputError for a
  // missing file or a card that does not match the checkpoint.
  static DigitClassifier load(const std::filesystem::path& checkpoint,
                              const std::string& device = "cpu");

  // Images [B, 1, S, S] float in [-1, 1], any device -> log-probabilities
  // [B, 10] float32 on the network's device, in one network call, keeping
  // the graph (differentiable in `images`). Pixels are not clamped. Throws
  // RuntimeFailure for another shape.
  at::Tensor log_probabilities(const at::Tensor& images) const;
  // The same without gradients, `chunk_rows` rows per network call:
  // [B, 10] float32 CPU.
  at::Tensor predict_log_probabilities(const at::Tensor& images, int64_t chunk_rows) const;

  // Dropout on (training) or off (evaluation).
  void set_training(bool training);
  // The weights, for an optimiser.
  std::vector<at::Tensor> parameters() const;
  // Writes the weights (not the card) to `checkpoint`, atomically.
  void save(const std::filesystem::path& checkpoint) const;

  int64_t size() const;
  int64_t parameter_count() const;
  const ClassifierNetworkParams& network() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

// [results] of a classifier's card.
struct ClassifierResults {
  int64_t parameters = 0;
  int64_t epochs = 0;
  int64_t train_rows = 0, test_rows = 0;
  std::vector<double> train_loss_per_epoch;  // cross-entropy (nats), augmented images
  double initial_test_loss = NAN;            // before the first step
  double test_loss = NAN;                    // cross-entropy (nats) on the test rows
  double test_accuracy = NAN;
  double test_mean_max_probability = NAN;  // mean over test rows of max_k p(k | x)
  double training_seconds = 0;
  void visit(ParamVisitor& v);
};

// The components the registry builds, for a checkpoint of
// image.train_classifier. Each refuses a domain whose sample shape is not
// the classifier's [1, S, S] with an InputError naming both shapes.
//
// log p(digit | x) per sample, float64, differentiable in samples.tensor();
// a sample with a non-finite pixel scores invalid_value() = -1000.
std::unique_ptr<RewardOracle> digit_log_prob_reward(const std::filesystem::path& checkpoint,
                                                    int64_t digit, const BuildContext& build,
                                                    const Domain& domain);
// max_k p(k | x) per sample, float64, not differentiable; a sample with a
// non-finite pixel scores invalid_value() = 0.
std::unique_ptr<RewardOracle> digit_confidence_reward(const std::filesystem::path& checkpoint,
                                                      const BuildContext& build,
                                                      const Domain& domain);
// The mean of max_k p(k | x) over decoded samples (PNG data URIs); NaN for
// no samples; InputError for a string that is not a PNG data URI or an
// image of another shape.
std::unique_ptr<SampleSetMetric> classifier_confidence_metric(
    const std::filesystem::path& checkpoint, const BuildContext& build, const Domain& domain);

}  // namespace svdd::image
