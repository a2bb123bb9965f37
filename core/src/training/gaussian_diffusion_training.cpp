#include "svdd/training/gaussian_diffusion_training.hpp"

#include <ATen/CPUGeneratorImpl.h>
#include <fmt/format.h>
#include <torch/torch.h>

#include <chrono>

#include "svdd/trainer.hpp"
#include "svdd/util/log.hpp"
#include "svdd/util/seeding.hpp"

namespace svdd {

void GaussianTrainingOptions::visit(ParamVisitor& v) {
  v.field("epochs", epochs, "passes over the training images");
  v.at_least("epochs", epochs, 1);
  v.field("batch_size", batch_size, "images per gradient step");
  v.at_least("batch_size", batch_size, 1);
  v.field("learning_rate", learning_rate, "AdamW's peak learning rate (cosine decay to 0)");
  v.positive("learning_rate", learning_rate);
  v.field("warmup_steps", warmup_steps, "steps of linear warm-up to the peak learning rate");
  v.non_negative("warmup_steps", warmup_steps);
  v.field("weight_decay", weight_decay, "AdamW's weight decay");
  v.non_negative("weight_decay", weight_decay);
  v.field("ema_decay", ema_decay,
          "decay of the exponential moving average of the weights, which is what is kept (0: "
          "the last weights)");
  v.in_half_open_range("ema_decay", ema_decay, 0, 1);
  v.field("validation_t_points", validation_t_points,
          "timesteps at which the held-out loss is averaged");
  v.at_least("validation_t_points", validation_t_points, 1);
}

namespace {

// The regression target and input of the DDPM objective at timesteps t [B]
// (integers in [1, N] as float) with noise eps: x_t, and eps or x_0.
struct NoisedBatch {
  torch::Tensor x_t, target;
};

NoisedBatch noise_batch(const torch::Tensor& x0, const torch::Tensor& t, const torch::Tensor& eps,
                        const torch::Tensor& alpha_bar, const std::string& prediction) {
  std::vector<int64_t> view(x0.dim(), 1);
  view[0] = x0.size(0);
  torch::Tensor ab = alpha_bar.index_select(0, t.to(torch::kLong)).to(x0.options()).view(view);
  const torch::Tensor target = prediction == "x0"  ? x0
                               : prediction == "v" ? ab.sqrt() * eps - (1 - ab).sqrt() * x0
                                                   : eps;
  return {ab.sqrt() * x0 + (1 - ab).sqrt() * eps, target};
}

}  // namespace

double gaussian_validation_loss(TrainableGaussianDenoiser& denoiser, const at::Tensor& x,
                                const GaussianDiffusionOptions& schedule, int64_t t_points,
                                int64_t seed, int64_t chunk_rows) {
  torch::NoGradGuard no_grad;
  denoiser.train(false);
  const torch::Tensor alpha_bar = alpha_bar_schedule(schedule).to(torch::kFloat).to(x.device());
  const int64_t n = x.size(0);
  double total = 0;
  for (int64_t k = 0; k < t_points; ++k) {
    // Evenly spaced in [1, N], both ends included when t_points > 1.
    const int64_t t_value = t_points == 1 ? (schedule.train_steps + 1) / 2
                                          : 1 + (schedule.train_steps - 1) * k / (t_points - 1);
    for (int64_t b = 0; b < n; b += chunk_rows) {
      const int64_t e = std::min(n, b + chunk_rows);
      std::vector<torch::Tensor> noise;
      for (int64_t i = b; i < e; ++i) {
        at::Generator g = stream_generator(seed, "validation", i * t_points + k);
        noise.push_back(torch::randn(x[i].sizes(), g, torch::kFloat));
      }
      torch::Tensor x0 = x.slice(0, b, e);
      torch::Tensor t = torch::full({e - b}, double(t_value), x0.options().dtype(torch::kFloat));
      NoisedBatch batch =
          noise_batch(x0, t, torch::stack(noise).to(x0.device()), alpha_bar, schedule.prediction);
      total += (denoiser.predict(batch.x_t, t) - batch.target).pow(2).sum().item<double>();
    }
  }
  return total / double(x.numel() * t_points);
}

GaussianTrainingHistory train_gaussian_denoiser(TrainableGaussianDenoiser& denoiser,
                                                const at::Tensor& x_train, const at::Tensor& x_val,
                                                const GaussianDiffusionOptions& schedule,
                                                const GaussianTrainingOptions& o) {
  const int64_t n = x_train.size(0);
  const torch::Tensor validation = x_val.to(o.device);
  const torch::Tensor alpha_bar = alpha_bar_schedule(schedule).to(torch::kFloat).to(o.device);
  const std::vector<torch::Tensor> weights = denoiser.parameters();
  torch::optim::AdamW optimizer(
      weights, torch::optim::AdamWOptions(o.learning_rate).weight_decay(o.weight_decay));
  GaussianTrainingHistory history;
  EpochLoopOptions loop_options;
  loop_options.epochs = o.epochs;
  loop_options.batch_size = o.batch_size;
  loop_options.learning_rate = o.learning_rate;
  loop_options.warmup_steps = o.warmup_steps;
  loop_options.clip_norm = 1.0;
  loop_options.ema_decay = o.ema_decay;
  loop_options.log_every = 50;
  loop_options.seed = o.seed;
  EpochLoop loop(loop_options, o.state, weights, optimizer, n);
  loop.keep("initial_validation", history.initial_validation_loss);
  loop.keep("train_loss", history.train_loss_per_epoch);
  loop.keep("validation", history.validation_loss_per_epoch);
  if (loop.restore() == 0) {
    history.initial_validation_loss = gaussian_validation_loss(
        denoiser, validation, schedule, o.validation_t_points, o.seed, o.chunk_rows);
  }
  logger("train")->info("before training: validation loss {:.4f}; {} epochs of {} steps",
                        history.initial_validation_loss, o.epochs,
                        (n + o.batch_size - 1) / o.batch_size);

  EpochLoopHooks hooks;
  hooks.train_mode = [&](bool on) { denoiser.train(on); };
  hooks.batch_loss = [&](const torch::Tensor& rows, at::Generator& generator) {
    const int64_t m = rows.size(0);
    torch::Tensor x0 = x_train.index_select(0, rows);
    torch::Tensor t = torch::randint(1, schedule.train_steps + 1, {m}, generator, torch::kFloat);
    torch::Tensor eps = torch::randn(x0.sizes(), generator, torch::kFloat);
    NoisedBatch batch = noise_batch(x0.to(o.device), t.to(o.device), eps.to(o.device), alpha_bar,
                                    schedule.prediction);
    return (denoiser.predict(batch.x_t, t.to(o.device)) - batch.target).pow(2).mean();
  };
  hooks.end_epoch = [&](int64_t, double train_loss) {
    // The held-out loss of the averaged weights, which are the ones kept.
    double validation_loss = 0;
    loop.with_average([&] {
      validation_loss = gaussian_validation_loss(denoiser, validation, schedule,
                                                 o.validation_t_points, o.seed, o.chunk_rows);
    });
    history.train_loss_per_epoch.push_back(train_loss);
    history.validation_loss_per_epoch.push_back(validation_loss);
    return EpochEnd{fmt::format(", validation loss {:.4f}", validation_loss)};
  };
  const EpochLoopResult result = loop.run(hooks);
  loop.use_average();
  denoiser.train(false);
  history.steps = result.steps;
  history.seconds = result.seconds;
  return history;
}

at::Tensor sample_gaussian_diffusion(std::shared_ptr<GaussianDenoiser> denoiser,
                                     const Domain& domain, int64_t count,
                                     const GaussianDiffusionOptions& schedule, int64_t seed) {
  c10::InferenceMode guard;
  auto model = make_gaussian_diffusion(domain, std::move(denoiser), schedule);
  at::Generator generator = stream_generator(seed, "samples");
  torch::Tensor x = model->prior(count, generator);
  for (int t = model->num_steps(); t >= 1; --t) x = model->transition(x, t)->sample(1, generator);
  return x.to(torch::kCPU);
}

}  // namespace svdd
