#include "svdd/training/gaussian_diffusion_training.hpp"

#include <ATen/CPUGeneratorImpl.h>
#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include <chrono>

#include "svdd/util/seeding.hpp"
#include "svdd/trainer.hpp"

namespace svdd {

void GaussianTrainingOptions::visit(ParamVisitor& v) {
  v.field("epochs", epochs, "passes over the training images");
  v.require(epochs >= 1, "epochs", "must be at least 1");
  v.field("batch_size", batch_size, "images per gradient step");
  v.require(batch_size >= 1, "batch_size", "must be at least 1");
  v.field("learning_rate", learning_rate, "AdamW's peak learning rate (cosine decay to 0)");
  v.require(learning_rate > 0, "learning_rate", "must be > 0");
  v.field("warmup_steps", warmup_steps, "steps of linear warm-up to the peak learning rate");
  v.require(warmup_steps >= 0, "warmup_steps", "must be >= 0");
  v.field("weight_decay", weight_decay, "AdamW's weight decay");
  v.require(weight_decay >= 0, "weight_decay", "must be >= 0");
  v.field("ema_decay", ema_decay,
          "decay of the exponential moving average of the weights, which is what is kept (0: "
          "the last weights)");
  v.require(ema_decay >= 0 && ema_decay < 1, "ema_decay", "must be in [0, 1)");
  v.field("validation_t_points", validation_t_points,
          "timesteps at which the held-out loss is averaged");
  v.require(validation_t_points >= 1, "validation_t_points", "must be at least 1");
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
  return {ab.sqrt() * x0 + (1 - ab).sqrt() * eps, prediction == "x0" ? x0 : eps};
}

// Swaps the values of the network's weights and `other` (same shapes).
void swap_weights(const std::vector<torch::Tensor>& weights, std::vector<torch::Tensor>& other) {
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < weights.size(); ++i) {
    torch::Tensor kept = weights[i].detach().clone();
    weights[i].detach().copy_(other[i]);
    other[i] = kept;
  }
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
  std::vector<torch::Tensor> ema;
  for (const auto& w : weights) ema.push_back(w.detach().clone());

  GaussianTrainingHistory history;
  const int64_t steps_per_epoch = (n + o.batch_size - 1) / o.batch_size;
  const int64_t total_steps = steps_per_epoch * o.epochs;
  history.initial_validation_loss = gaussian_validation_loss(
      denoiser, validation, schedule, o.validation_t_points, o.seed, o.chunk_rows);
  spdlog::info("before training: validation loss {:.4f}; {} epochs of {} steps",
               history.initial_validation_loss, o.epochs, steps_per_epoch);

  const auto start = std::chrono::steady_clock::now();
  int64_t step = 0;
  for (int64_t epoch = 0; epoch < o.epochs; ++epoch) {
    denoiser.train(true);
    at::Generator generator = stream_generator(o.seed, "epoch", epoch);
    torch::Tensor order = torch::randperm(n, generator, torch::kLong);
    double epoch_loss = 0;
    for (int64_t b = 0; b < n; b += o.batch_size, ++step) {
      torch::Tensor rows = order.slice(0, b, std::min(n, b + o.batch_size));
      const int64_t m = rows.size(0);
      torch::Tensor x0 = x_train.index_select(0, rows);
      torch::Tensor t = torch::randint(1, schedule.train_steps + 1, {m}, generator, torch::kFloat);
      torch::Tensor eps = torch::randn(x0.sizes(), generator, torch::kFloat);
      NoisedBatch batch = noise_batch(x0.to(o.device), t.to(o.device), eps.to(o.device), alpha_bar,
                                      schedule.prediction);
      torch::Tensor loss =
          (denoiser.predict(batch.x_t, t.to(o.device)) - batch.target).pow(2).mean();
      const double warm =
          o.warmup_steps > 0 ? std::min(1.0, double(step + 1) / o.warmup_steps) : 1.0;
      optimizer_step(optimizer, loss,
                     cosine_learning_rate(o.learning_rate * warm, step, total_steps),
                     /*clip_norm=*/1.0);
      {
        torch::NoGradGuard no_grad;
        // Early on the average would be dominated by the random initial
        // weights; the usual warm-up of the decay, min(d, (1+k)/(10+k)).
        const double d = std::min(o.ema_decay, double(1 + step) / double(10 + step));
        for (size_t i = 0; i < weights.size(); ++i) ema[i].mul_(d).add_(weights[i].detach(), 1 - d);
      }
      epoch_loss += loss.item<double>() * m;
      if ((step + 1) % 50 == 0) {
        spdlog::info("  epoch {} step {}/{}: loss {:.4f} ({:.0f} s)", epoch + 1, step + 1,
                     total_steps, loss.item<double>(), seconds_since(start));
      }
    }
    // The held-out loss of the averaged weights, which are the ones kept.
    if (o.ema_decay > 0) swap_weights(weights, ema);
    const double validation_loss = gaussian_validation_loss(
        denoiser, validation, schedule, o.validation_t_points, o.seed, o.chunk_rows);
    if (o.ema_decay > 0) swap_weights(weights, ema);
    history.train_loss_per_epoch.push_back(epoch_loss / n);
    history.validation_loss_per_epoch.push_back(validation_loss);
    spdlog::info("epoch {}/{}: train loss {:.4f}, validation loss {:.4f}, {:.0f} s", epoch + 1,
                 o.epochs, epoch_loss / n, validation_loss, seconds_since(start));
  }
  if (o.ema_decay > 0) swap_weights(weights, ema);
  denoiser.train(false);
  history.steps = step;
  history.seconds = seconds_since(start);
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
