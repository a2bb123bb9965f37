#include "image_diffusion.hpp"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include <chrono>

#include "digit_data.hpp"
#include "image_domain.hpp"
#include "svdd/error.hpp"
#include "svdd/families/gaussian_diffusion.hpp"
#include "svdd/trainer.hpp"
#include "svdd/training/card.hpp"
#include "svdd/training/gaussian_diffusion_training.hpp"
#include "svdd/util/clock.hpp"
#include "svdd/util/log.hpp"
#include "svdd/util/seeding.hpp"

namespace svdd::image {
namespace {

// [schedule] on the card: how the network was trained.
struct ScheduleCard {
  GaussianDiffusionOptions options;
  void visit(ParamVisitor& v) { visit_gaussian_training(v, options); }
};

// ---- the model -------------------------------------------------------------

struct DdpmParams {
  FilePath checkpoint;
  GaussianDiffusionOptions sampling{.steps = 50, .eta = 1.0, .clip_x0 = 1.0};
  void visit(ParamVisitor& v) {
    v.field("checkpoint", checkpoint,
            "a UNet written by `svdd train` with an image.train_ddpm file (its card beside it "
            "holds the network, the image shape and the noise schedule)");
    v.require(!checkpoint.path.empty(), "checkpoint", "is required");
    visit_gaussian_sampling(v, sampling);
  }
};

// ---- the trainer -------------------------------------------------------------

struct TrainingParams {
  DigitDataParams data{.first_row = 0, .rows = 8000};
  int64_t validation_first_row = 8000;
  int64_t validation_rows = 500;
  UNetParams network;
  ScheduleCard schedule;
  GaussianTrainingOptions optimisation;
  int64_t sample_count = 64;
  int sample_steps = 50;

  void visit(ParamVisitor& v) {
    data.visit(v);
    v.field("validation_first_row", validation_first_row,
            "first image of the held-out rows on which the loss is reported (same files)");
    v.non_negative("validation_first_row", validation_first_row);
    v.field("validation_rows", validation_rows, "held-out images");
    v.at_least("validation_rows", validation_rows, 1);
    network.visit(v);
    schedule.visit(v);
    optimisation.visit(v);
    v.field("sample_count", sample_count,
            "images sampled after training for the card's pixel statistics (0: none)");
    v.non_negative("sample_count", sample_count);
    v.field("sample_steps", sample_steps, "DDIM steps of that sampling (eta = 1)");
    v.require(sample_steps >= 1 && sample_steps <= schedule.options.train_steps, "sample_steps",
              "must be in [1, train_steps]");
  }
};

// [data] on the card.
struct DataCard {
  std::string images, images_sha1, labels, labels_sha1;
  int64_t rows_in_file = 0, first_row = 0, rows = 0, validation_first_row = 0, validation_rows = 0,
          size = 0;
  void visit(ParamVisitor& v) {
    v.field("images", images, "the IDX image file, relative to the data folder");
    v.field("images_sha1", images_sha1, "SHA-1 of the image file's bytes");
    v.field("labels", labels, "read only to check the files agree");
    v.field("labels_sha1", labels_sha1, "SHA-1 of the label file's bytes");
    v.field("rows_in_file", rows_in_file, "rows the file holds");
    v.field("first_row", first_row, "trained on rows [first_row, first_row + rows)");
    v.field("rows", rows, "rows read");
    v.field("validation_first_row", validation_first_row, "the held-out rows start here");
    v.field("validation_rows", validation_rows,
            "rows held out to measure the fit after each epoch");
    v.field("size", size, "image side in pixels");
  }
};

// [results] on the card.
struct Results {
  int64_t parameters = 0, epochs = 0, steps = 0;
  std::vector<double> train_loss_per_epoch, validation_loss_per_epoch;
  double initial_validation_loss = NAN, validation_loss = NAN;
  int64_t samples = 0, sample_steps = 0;
  double sample_mean_pixel = NAN, data_mean_pixel = NAN;
  double sample_ink_fraction = NAN, data_ink_fraction = NAN;
  double training_seconds = 0, sampling_seconds = 0;
  void visit(ParamVisitor& v) {
    v.field("parameters", parameters, "trainable parameters of the network");
    v.field("epochs", epochs, "epochs trained");
    v.field("steps", steps, "gradient steps");
    v.field("train_loss_per_epoch", train_loss_per_epoch, "mean squared error of the noise");
    v.field("validation_loss_per_epoch", validation_loss_per_epoch, "EMA weights, held-out rows");
    v.field("initial_validation_loss", initial_validation_loss, "before training");
    v.field("validation_loss", validation_loss,
            "held-out noise MSE after the last epoch (EMA weights)");
    v.field("samples", samples, "samples drawn for the card's figures");
    v.field("sample_steps", sample_steps, "denoising steps of those samples");
    v.field("sample_mean_pixel", sample_mean_pixel, "mean pixel of the samples, in [-1, 1]");
    v.field("data_mean_pixel", data_mean_pixel, "the same for the held-out images");
    v.field("sample_ink_fraction", sample_ink_fraction, "share of pixels brighter than 0");
    v.field("data_ink_fraction", data_ink_fraction, "the same for the held-out images");
    v.field("training_seconds", training_seconds, "wall time of the training, in seconds");
    v.field("sampling_seconds", sampling_seconds,
            "wall time of drawing the card's samples, in seconds");
  }
};

void train_ddpm(const TrainingParams& p, const TrainContext& context) {
  const auto& build = context.build;
  const DigitData train = load_digits(p.data, build.data_dir);
  DigitDataParams held_out = p.data;
  held_out.first_row = p.validation_first_row;
  held_out.rows = p.validation_rows;
  const DigitData validation = load_digits(held_out, build.data_dir);
  const bool overlap = p.validation_first_row < p.data.first_row + train.images.size(0) &&
                       p.data.first_row < p.validation_first_row + p.validation_rows;
  if (overlap) {
    throw InputError(fmt::format("validation rows [{}, {}) overlap the training rows [{}, {})",
                                 p.validation_first_row, p.validation_first_row + p.validation_rows,
                                 p.data.first_row, p.data.first_row + train.images.size(0)));
  }
  const ImageShape shape{1, p.data.size, p.data.size};
  const Domain domain = image_domain(shape.channels, shape.height, shape.width);
  svdd::logger("image")->info("{}: {} training images from row {}, {} held out from row {}; {}x{}",
                              train.images_file.string(), train.images.size(0), p.data.first_row,
                              validation.images.size(0), p.validation_first_row, shape.height,
                              shape.width);

  at::manual_seed(stream_seed(context.seed, "init", 0));
  auto net = std::make_shared<TimeUNet>(p.network, shape);
  net->to(build.device);
  Results results;
  results.parameters = net->parameter_count();
  svdd::logger("image")->info("UNet: {} parameters", results.parameters);

  GaussianTrainingOptions options = p.optimisation;
  options.chunk_rows = build.chunk_rows;
  options.device = build.device;
  options.seed = context.seed;
  options.state = training_state(context);
  const GaussianTrainingHistory history =
      train_gaussian_denoiser(*net, train.images, validation.images, p.schedule.options, options);
  results.epochs = options.epochs;
  results.steps = history.steps;
  results.training_seconds = history.seconds;
  results.train_loss_per_epoch = history.train_loss_per_epoch;
  results.validation_loss_per_epoch = history.validation_loss_per_epoch;
  results.initial_validation_loss = history.initial_validation_loss;
  results.validation_loss = history.validation_loss_per_epoch.back();
  results.data_mean_pixel = validation.images.mean().item<double>();
  results.data_ink_fraction = validation.images.gt(0).to(at::kDouble).mean().item<double>();

  if (p.sample_count > 0) {
    const auto start = std::chrono::steady_clock::now();
    GaussianDiffusionOptions sampling = p.schedule.options;
    sampling.steps = p.sample_steps;
    sampling.eta = 1.0;
    sampling.clip_x0 = 1.0;
    sampling.chunk_rows = build.chunk_rows;
    sampling.device = build.device;
    const at::Tensor samples =
        sample_gaussian_diffusion(net, domain, p.sample_count, sampling, context.seed);
    results.samples = p.sample_count;
    results.sample_steps = p.sample_steps;
    results.sample_mean_pixel = samples.mean().item<double>();
    results.sample_ink_fraction = samples.gt(0).to(at::kDouble).mean().item<double>();
    results.sampling_seconds = seconds_since(start);
    svdd::logger("image")->info(
        "{} samples ({} steps): mean pixel {:.4f} (data {:.4f}), ink {:.4f} (data {:.4f})",
        p.sample_count, p.sample_steps, results.sample_mean_pixel, results.data_mean_pixel,
        results.sample_ink_fraction, results.data_ink_fraction);
  }

  auto tmp = context.checkpoint;
  tmp += ".tmp";
  net->save(tmp);
  std::filesystem::rename(tmp, context.checkpoint);
  DataCard data_card{train.images_file.string(), train.images_sha1,
                     train.labels_file.string(), train.labels_sha1,
                     train.rows_in_file,         p.data.first_row,
                     train.images.size(0),       p.validation_first_row,
                     validation.images.size(0),  p.data.size};
  UNetParams network = p.network;
  ImageShape image = shape;
  ScheduleCard schedule = p.schedule;
  write_training_card(
      context,
      fmt::format("Card of the image UNet denoiser {} (image.train_ddpm), a Gaussian DDPM\n"
                  "noise predictor. Use it with [model] type = \"image.ddpm\", checkpoint = "
                  "\"{}\".\n[network], [image] and [schedule] are read back to rebuild the "
                  "model; losses\nare mean squared errors of the predicted noise.",
                  context.checkpoint.filename().string(), context.checkpoint.filename().string()),
      params_section("network", [&](ParamVisitor& v) { network.visit(v); }) +
          params_section("image", [&](ParamVisitor& v) { image.visit(v); }) +
          params_section("schedule", [&](ParamVisitor& v) { schedule.visit(v); }) +
          params_section("data", [&](ParamVisitor& v) { data_card.visit(v); }) +
          params_section("results", [&](ParamVisitor& v) { results.visit(v); }));
  svdd::logger("image")->info("wrote {} and {}", context.checkpoint.string(),
                              card_path(context.checkpoint).string());
}

}  // namespace

LoadedUNet load_unet(const std::filesystem::path& checkpoint, const std::string& device) {
  const auto card = checked_card(checkpoint);
  if (!std::filesystem::exists(card)) {
    throw InputError(fmt::format("{}: its card {} is missing (image.train_ddpm writes both)",
                                 checkpoint.string(), card.string()));
  }
  LoadedUNet loaded;
  loaded.params = read_card_section<UNetParams>(card, "network");
  loaded.shape = read_card_section<ImageShape>(card, "image");
  loaded.schedule = read_card_section<ScheduleCard>(card, "schedule").options;
  loaded.denoiser = std::make_shared<TimeUNet>(loaded.params, loaded.shape);
  loaded.denoiser->to(device);
  loaded.denoiser->load(checkpoint);
  loaded.denoiser->train(false);
  return loaded;
}

void register_image_diffusion(Registry& registry) {
  registry.add<svdd::ComponentKind::model, DdpmParams>(
      "image.ddpm",
      "Gaussian pixel diffusion (DDPM, sampled with DDIM) with a trained time-conditioned UNet "
      "noise predictor; samples are images in [-1, 1]",
      [](const DdpmParams& p, const BuildContext& build) {
        LoadedUNet loaded = load_unet(p.checkpoint.path, build.device);
        GaussianDiffusionOptions options = loaded.schedule;
        options.steps = p.sampling.steps;
        options.eta = p.sampling.eta;
        options.clip_x0 = p.sampling.clip_x0;
        options.chunk_rows = build.chunk_rows;
        options.device = build.device;
        if (options.steps > options.train_steps) {
          throw InputError(fmt::format("steps = {} exceeds the model's train_steps = {}",
                                       options.steps, options.train_steps));
        }
        return make_gaussian_diffusion(
            image_domain(loaded.shape.channels, loaded.shape.height, loaded.shape.width),
            loaded.denoiser, options);
      });
  registry.add<svdd::ComponentKind::trainer, TrainingParams>(
      "image.train_ddpm",
      "trains the UNet noise predictor of an image.ddpm model on MNIST digits (IDX files)",
      train_ddpm);
}

}  // namespace svdd::image
