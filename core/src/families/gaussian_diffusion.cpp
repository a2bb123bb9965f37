// Gaussian DDPM schedule sampled with DDIM (see gaussian_diffusion.hpp).
#include "svdd/families/gaussian_diffusion.hpp"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include <cmath>

#include "decoding/chunking.hpp"
#include "svdd/error.hpp"

namespace svdd {

GaussianDenoiser::~GaussianDenoiser() = default;

at::Tensor alpha_bar_schedule(const GaussianDiffusionOptions& o) {
  const int n = o.train_steps;
  at::Tensor alpha_bar = at::ones({n + 1}, at::kDouble);
  auto a = alpha_bar.accessor<double, 1>();
  if (!o.alphas_cumprod.empty()) {
    if (static_cast<int>(o.alphas_cumprod.size()) != n) {
      throw InputError(fmt::format("alphas_cumprod holds {} values for train_steps = {}",
                                   o.alphas_cumprod.size(), n));
    }
    for (int i = 1; i <= n; ++i) a[i] = o.alphas_cumprod[i - 1];
  } else if (o.schedule == "linear" || o.schedule == "scaled_linear") {
    // scaled_linear: linear in sqrt(beta), as diffusers and latent diffusion.
    const bool scaled = o.schedule == "scaled_linear";
    const double first = scaled ? std::sqrt(o.beta_start) : o.beta_start;
    const double last = scaled ? std::sqrt(o.beta_end) : o.beta_end;
    for (int i = 1; i <= n; ++i) {
      double beta = n == 1 ? first : first + (last - first) * (i - 1) / (n - 1);
      if (scaled) beta *= beta;
      a[i] = a[i - 1] * (1.0 - beta);
    }
  } else if (o.schedule == "cosine" || o.schedule == "squaredcos_cap_v2") {
    auto f = [&](double u) { return std::pow(std::cos((u + 0.008) / 1.008 * M_PI / 2), 2); };
    for (int i = 1; i <= n; ++i) {
      const double beta = std::min(1.0 - f(double(i) / n) / f(double(i - 1) / n), 0.999);
      a[i] = a[i - 1] * (1.0 - beta);
    }
  } else {
    throw InputError(fmt::format(
        "unknown noise schedule '{}' (known: linear, scaled_linear, cosine, squaredcos_cap_v2)",
        o.schedule));
  }
  return alpha_bar;
}

void visit_gaussian_training(ParamVisitor& v, GaussianDiffusionOptions& o) {
  v.field("train_steps", o.train_steps, "N: DDPM timesteps the network was trained on");
  v.in_range("train_steps", o.train_steps, 1, 100000);
  v.field("schedule", o.schedule,
          "noise schedule: \"linear\" (beta_start..beta_end), \"scaled_linear\" (linear in "
          "sqrt(beta)), \"cosine\" (diffusers' \"squaredcos_cap_v2\")");
  v.one_of("schedule", o.schedule, {"linear", "scaled_linear", "cosine", "squaredcos_cap_v2"});
  v.field("beta_start", o.beta_start, "first beta of the linear schedules");
  v.field("beta_end", o.beta_end, "last beta of the linear schedules");
  v.require(o.beta_start > 0 && o.beta_start <= o.beta_end && o.beta_end < 1, "beta_end",
            "needs 0 < beta_start <= beta_end < 1");
  v.field("prediction", o.prediction,
          "what the network predicts: \"epsilon\" (noise), \"x0\" or \"v\" (sqrt(ab) eps - "
          "sqrt(1 - ab) x0)");
  v.one_of("prediction", o.prediction, {"epsilon", "x0", "v"});
}

void visit_gaussian_sampling(ParamVisitor& v, GaussianDiffusionOptions& o) {
  v.field("steps", o.steps, "T: DDIM sampling steps, evenly spaced over the N training timesteps");
  v.require(o.steps >= 1 && o.steps <= o.train_steps, "steps", "must be in [1, train_steps]");
  v.field("eta", o.eta,
          "DDIM stochasticity: 1 is DDPM-like ancestral sampling, 0 deterministic (SVDD and SMC "
          "need eta > 0 for their candidates to differ)");
  v.in_range("eta", o.eta, 0, 1);
  v.field("clip_x0", o.clip_x0,
          "clamp the predicted clean sample to [-clip_x0, clip_x0] (0: no clamp; images live in "
          "[-1, 1])");
  v.non_negative("clip_x0", o.clip_x0);
}

int ddim_timestep(const GaussianDiffusionOptions& o, int step) {
  return static_cast<int>(std::llround(double(step) * o.train_steps / o.steps));
}

namespace {

class GaussianTransition final : public Transition {
 public:
  GaussianTransition(at::Tensor mean, at::Tensor x0_hat, double sigma)
      : mean_(std::move(mean)), x0_hat_(std::move(x0_hat)), sigma_(sigma) {}

  at::Tensor sample(int64_t k, at::Generator& generator) override {
    at::Tensor mean = mean_.repeat_interleave(k, 0);
    if (sigma_ == 0.0) return mean;
    // Noise is drawn on the CPU generator so a seed gives the same samples on
    // every device.
    at::Tensor noise = at::randn(mean.sizes(), generator, at::TensorOptions().dtype(at::kFloat));
    return mean + noise.to(mean.device()) * sigma_;
  }

  at::Tensor x0_hat() override { return x0_hat_; }

 private:
  at::Tensor mean_, x0_hat_;
  double sigma_;
};

class GaussianDiffusion final : public DiffusionModel {
 public:
  GaussianDiffusion(Domain domain, std::shared_ptr<GaussianDenoiser> denoiser,
                    GaussianDiffusionOptions options,
                    std::shared_ptr<const ExactDistribution> exact)
      : domain_(std::move(domain)),
        denoiser_(std::move(denoiser)),
        options_(std::move(options)),
        exact_(std::move(exact)) {
    require_continuous(domain_, "Gaussian diffusion");
    if (options_.steps < 1 || options_.steps > options_.train_steps) {
      throw InputError(fmt::format("steps must be in [1, train_steps = {}], got {}",
                                   options_.train_steps, options_.steps));
    }
    if (options_.prediction != "epsilon" && options_.prediction != "x0" &&
        options_.prediction != "v") {
      throw InputError(fmt::format("prediction must be \"epsilon\", \"x0\" or \"v\", got \"{}\"",
                                   options_.prediction));
    }
    alpha_bar_ = alpha_bar_schedule(options_);
  }

  const Domain& domain() const override { return domain_; }
  int num_steps() const override { return options_.steps; }
  const ExactDistribution* exact() const override { return exact_.get(); }

  at::Tensor prior(int64_t batch, at::Generator& generator) override {
    std::vector<int64_t> size{batch};
    size.insert(size.end(), domain_.shape.begin(), domain_.shape.end());
    return at::randn(size, generator, at::TensorOptions().dtype(at::kFloat))
        .to(at::Device(options_.device));
  }

  std::unique_ptr<Transition> transition(const at::Tensor& x_t, int step) override {
    if (step < 1 || step > options_.steps) {
      throw RuntimeFailure(
          fmt::format("Gaussian diffusion: step {} outside [1, {}]", step, options_.steps));
    }
    const int tau = ddim_timestep(options_, step);
    const int tau_prev = ddim_timestep(options_, step - 1);
    const double ab = alpha_bar_[tau].item<double>();
    const double ab_prev = alpha_bar_[tau_prev].item<double>();

    at::Tensor prediction =
        map_row_chunks(x_t.size(0), options_.chunk_rows, [&](int64_t b, int64_t e) {
          at::Tensor rows = x_t.slice(0, b, e);
          return denoiser_->predict(
              rows, at::full({e - b}, float(tau), rows.options().dtype(at::kFloat)));
        });
    if (prediction.sizes() != x_t.sizes()) {
      throw RuntimeFailure(fmt::format("Gaussian denoiser returned shape {}, expected {}",
                                       shape_text(prediction.sizes()), shape_text(x_t.sizes())));
    }
    at::Tensor eps, x0;
    if (options_.prediction == "epsilon") {
      eps = prediction;
      x0 = (x_t - std::sqrt(1.0 - ab) * eps) / std::sqrt(ab);
    } else if (options_.prediction == "x0") {
      x0 = prediction;
    } else {  // v = sqrt(ab) eps - sqrt(1 - ab) x0
      x0 = std::sqrt(ab) * x_t - std::sqrt(1.0 - ab) * prediction;
      eps = std::sqrt(1.0 - ab) * x_t + std::sqrt(ab) * prediction;
    }
    if (options_.clip_x0 > 0) x0 = x0.clamp(-options_.clip_x0, options_.clip_x0);
    if (options_.prediction == "x0" || options_.clip_x0 > 0) {
      eps = (x_t - std::sqrt(ab) * x0) / std::sqrt(1.0 - ab);
    }
    // DDIM (Song et al. 2021, eq. 12 and 16).
    const double sigma =
        options_.eta * std::sqrt((1.0 - ab_prev) / (1.0 - ab)) * std::sqrt(1.0 - ab / ab_prev);
    const double direction = std::sqrt(std::max(1.0 - ab_prev - sigma * sigma, 0.0));
    at::Tensor mean = std::sqrt(ab_prev) * x0 + direction * eps;
    return std::make_unique<GaussianTransition>(std::move(mean), std::move(x0), sigma);
  }

 private:
  Domain domain_;
  std::shared_ptr<GaussianDenoiser> denoiser_;
  GaussianDiffusionOptions options_;
  std::shared_ptr<const ExactDistribution> exact_;
  at::Tensor alpha_bar_;
};

}  // namespace

std::unique_ptr<DiffusionModel> make_gaussian_diffusion(
    Domain domain, std::shared_ptr<GaussianDenoiser> denoiser, GaussianDiffusionOptions options,
    std::shared_ptr<const ExactDistribution> exact) {
  return std::make_unique<GaussianDiffusion>(std::move(domain), std::move(denoiser),
                                             std::move(options), std::move(exact));
}

}  // namespace svdd
