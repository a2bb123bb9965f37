#include "svdd/training/masked_diffusion_training.hpp"

#include <ATen/CPUGeneratorImpl.h>
#include <fmt/format.h>
#include <torch/torch.h>

#include <chrono>

#include "svdd/trainer.hpp"
#include "svdd/util/log.hpp"
#include "svdd/util/seeding.hpp"

namespace svdd {

void MaskedTrainingOptions::visit(ParamVisitor& v) {
  v.field("epochs", epochs, "passes over the training rows");
  v.at_least("epochs", epochs, 1);
  v.field("batch_size", batch_size, "rows per gradient step");
  v.at_least("batch_size", batch_size, 1);
  v.field("learning_rate", learning_rate, "AdamW's peak learning rate (cosine decay to 0)");
  v.positive("learning_rate", learning_rate);
  v.field("weight_decay", weight_decay, "AdamW's weight decay");
  v.non_negative("weight_decay", weight_decay);
  v.field("elbo_t_points", elbo_t_points, "quadrature points in t of the validation bound");
  v.at_least("elbo_t_points", elbo_t_points, 1);
}

double masked_validation_nats_per_token(TrainableMaskedDenoiser& denoiser, const at::Tensor& x,
                                        int64_t mask_id, int64_t t_points, int64_t seed,
                                        int64_t chunk_rows) {
  torch::NoGradGuard no_grad;
  denoiser.train(false);
  double total = 0;
  for (int64_t b = 0; b < x.size(0); b += chunk_rows) {
    const int64_t e = std::min(x.size(0), b + chunk_rows);
    std::vector<uint64_t> seeds;
    for (int64_t i = b; i < e; ++i) seeds.push_back(stream_seed(seed, "validation", i));
    total -= masked_diffusion_elbo(denoiser, x.slice(0, b, e), mask_id, t_points, seeds)
                 .sum()
                 .item<double>();
  }
  return total / double(x.numel());
}

MaskedTrainingHistory train_masked_denoiser(TrainableMaskedDenoiser& denoiser,
                                            const at::Tensor& x_train, const at::Tensor& x_val,
                                            int64_t mask_id, const MaskedTrainingOptions& o) {
  const int64_t n = x_train.size(0), length = x_train.size(1);
  const torch::Tensor validation = x_val.to(o.device);
  torch::optim::AdamW optimizer(
      denoiser.parameters(),
      torch::optim::AdamWOptions(o.learning_rate).weight_decay(o.weight_decay));
  MaskedTrainingHistory history;
  EpochLoopOptions loop_options;
  loop_options.epochs = o.epochs;
  loop_options.batch_size = o.batch_size;
  loop_options.learning_rate = o.learning_rate;
  loop_options.clip_norm = 1.0;
  loop_options.log_every = 50;
  loop_options.loss_unit = " nats/token";
  loop_options.seed = o.seed;
  EpochLoop loop(loop_options, o.state, denoiser.parameters(), optimizer, n);
  loop.keep("initial_validation", history.initial_validation_nats_per_token);
  loop.keep("train_loss", history.train_loss_per_epoch);
  loop.keep("validation", history.validation_nats_per_token_per_epoch);
  if (loop.restore() == 0) {
    history.initial_validation_nats_per_token = masked_validation_nats_per_token(
        denoiser, validation, mask_id, o.elbo_t_points, o.seed, o.chunk_rows);
  }
  logger("train")->info(
      "before training: validation bound {:.4f} nats/token; {} epochs of {} steps",
      history.initial_validation_nats_per_token, o.epochs, (n + o.batch_size - 1) / o.batch_size);

  EpochLoopHooks hooks;
  hooks.train_mode = [&](bool on) { denoiser.train(on); };
  hooks.batch_loss = [&](const torch::Tensor& rows, at::Generator& generator) {
    const int64_t m = rows.size(0);
    torch::Tensor x0 = x_train.index_select(0, rows).to(o.device);
    // Stratified t in [1e-3, 1): one shifted grid per batch lowers the
    // variance of the bound's estimate.
    torch::Tensor u =
        (torch::rand({1}, generator) + torch::arange(m, torch::kFloat) / m).remainder(1.0);
    torch::Tensor t = 1e-3 + (1 - 1e-3) * u;
    torch::Tensor uniforms = torch::rand({m, length}, generator);
    return masked_diffusion_loss(denoiser, x0, t, mask_id, uniforms).mean() /
           static_cast<double>(length);
  };
  hooks.end_epoch = [&](int64_t, double train_loss) {
    const double bound = masked_validation_nats_per_token(denoiser, validation, mask_id,
                                                          o.elbo_t_points, o.seed, o.chunk_rows);
    history.train_loss_per_epoch.push_back(train_loss);
    history.validation_nats_per_token_per_epoch.push_back(bound);
    return EpochEnd{fmt::format(", validation bound {:.4f} nats/token", bound)};
  };
  const EpochLoopResult result = loop.run(hooks);
  denoiser.train(false);
  history.steps = result.steps;
  history.seconds = result.seconds;
  return history;
}

at::Tensor sample_masked_diffusion(std::shared_ptr<MaskedDenoiser> denoiser, const Domain& domain,
                                   int64_t count, int steps, int64_t seed, int64_t chunk_rows,
                                   const std::string& device) {
  c10::InferenceMode guard;
  MaskedDiffusionOptions options;
  options.steps = steps;
  options.chunk_rows = chunk_rows;
  options.device = device;
  auto model = make_masked_diffusion(domain, std::move(denoiser), options);
  at::Generator generator = stream_generator(seed, "samples");
  torch::Tensor x = model->prior(count, generator);
  for (int t = model->num_steps(); t >= 1; --t) x = model->transition(x, t)->sample(1, generator);
  return x.to(torch::kCPU);
}

}  // namespace svdd
