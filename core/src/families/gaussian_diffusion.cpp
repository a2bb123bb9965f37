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
  if (o.schedule == "linear") {
    for (int i = 1; i <= n; ++i) {
      const double beta =
          n == 1 ? o.beta_start : o.beta_start + (o.beta_end - o.beta_start) * (i - 1) / (n - 1);
      a[i] = a[i - 1] * (1.0 - beta);
    }
  } else if (o.schedule == "cosine") {
    auto f = [&](double u) { return std::pow(std::cos((u + 0.008) / 1.008 * M_PI / 2), 2); };
    for (int i = 1; i <= n; ++i) {
      const double beta = std::min(1.0 - f(double(i) / n) / f(double(i - 1) / n), 0.999);
      a[i] = a[i - 1] * (1.0 - beta);
    }
  } else {
    throw InputError(
        fmt::format("unknown noise schedule '{}' (known: linear, cosine)", o.schedule));
  }
  return alpha_bar;
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
    if (options_.prediction != "epsilon" && options_.prediction != "x0") {
      throw InputError(
          fmt::format("prediction must be \"epsilon\" or \"x0\", got \"{}\"", options_.prediction));
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
    } else {
      x0 = prediction;
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
