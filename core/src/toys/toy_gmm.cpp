// toy.gmm: a Gaussian mixture in 1 or 2 dimensions with isotropic components,
// sampled by core's Gaussian DDPM/DDIM family with its exact noise
// prediction (the noised mixture's score is known in closed form). The
// target p_pre(x) exp(r(x)/alpha) / Z is integrated on a fine grid; the
// reported distance is the total variation between binned samples and the
// binned target.
//
// Also toy.position_reward, a smooth differentiable reward of position.
#include <ATen/ATen.h>
#include <fmt/format.h>

#include <cmath>

#include "svdd/error.hpp"
#include "svdd/families/gaussian_diffusion.hpp"
#include "svdd/registry.hpp"

namespace svdd {
namespace {

struct ToyGmmParams {
  int64_t dim = 2;
  std::vector<double> means{-2.0, -2.0, 2.0, -2.0, 0.0, 2.0};
  std::vector<double> stds{0.5, 0.5, 0.5};
  std::vector<double> weights{0.4, 0.3, 0.3};
  int steps = 100;  // int, as GaussianDiffusionOptions keeps them
  int train_steps = 1000;
  double eta = 1.0;
  std::string schedule = "linear";
  double extent = 6.0;
  int64_t bins = 8;
  void visit(ParamVisitor& v) {
    v.field("dim", dim, "dimension of x (1 or 2)");
    v.require(dim == 1 || dim == 2, "dim", "must be 1 or 2");
    v.field("means", means, "component means, flattened (components x dim)");
    v.field("stds", stds, "component standard deviations (isotropic)");
    v.require(!stds.empty() && means.size() == stds.size() * size_t(dim), "means",
              "must hold dim values per component (as many components as stds)");
    v.field("weights", weights, "component weights (normalised)");
    v.require(weights.size() == stds.size(), "weights", "must have one weight per component");
    v.field("steps", steps, "DDIM sampling steps");
    v.field("train_steps", train_steps, "DDPM training timesteps N");
    v.require(steps >= 1 && steps <= train_steps, "steps", "must be in [1, train_steps]");
    v.field("eta", eta, "DDIM stochasticity (1: DDPM-like; SVDD needs > 0)");
    v.field("schedule", schedule, "noise schedule: linear or cosine");
    v.field("extent", extent, "the target grid covers [-extent, extent]^dim");
    v.field("bins", bins, "bins per dimension for target_distance");
    v.in_range("bins", bins, 1, 64);
  }
};

class Mixture final : public ExactDistribution, public GaussianDenoiser {
 public:
  Mixture(const ToyGmmParams& p, at::Tensor alpha_bar)
      : dim_(p.dim), extent_(p.extent), bins_(p.bins), alpha_bar_(std::move(alpha_bar)) {
    const int64_t k = static_cast<int64_t>(p.stds.size());
    means_ = at::tensor(p.means, at::kDouble).view({k, dim_});
    vars_ = at::tensor(p.stds, at::kDouble).pow(2);
    at::Tensor w = at::tensor(p.weights, at::kDouble);
    if ((w < 0).any().item<bool>() || w.sum().item<double>() <= 0 ||
        (vars_ <= 0).any().item<bool>()) {
      throw InputError("weights must be >= 0 with a positive sum, stds > 0");
    }
    log_weights_ = (w / w.sum()).log();
    build_quadrature();
  }

  // log p of points [B, dim] under the mixture noised to alpha-bar `ab`.
  at::Tensor log_density(const at::Tensor& x, double ab) const {
    at::Tensor var = ab * vars_ + (1.0 - ab);                                // [K]
    at::Tensor diff = x.unsqueeze(1) - std::sqrt(ab) * means_.unsqueeze(0);  // [B, K, dim]
    at::Tensor log_component =
        -0.5 * diff.pow(2).sum(2) / var - 0.5 * dim_ * (2 * M_PI * var).log();
    return (log_component + log_weights_).logsumexp(1);
  }

  // GaussianDenoiser: eps = -sqrt(1 - ab) * score of the noised mixture.
  at::Tensor predict(const at::Tensor& x_t, const at::Tensor& t) override {
    at::Tensor x = x_t.to(at::kCPU, at::kDouble);
    at::Tensor ab = alpha_bar_.index_select(0, t.to(at::kCPU).round().to(at::kLong));  // [B]
    at::Tensor var = ab.unsqueeze(1) * vars_.unsqueeze(0) + (1.0 - ab.unsqueeze(1));   // [B, K]
    at::Tensor centre = ab.sqrt().view({-1, 1, 1}) * means_.unsqueeze(0);              // [B, K, d]
    at::Tensor diff = x.unsqueeze(1) - centre;
    at::Tensor log_r = -0.5 * diff.pow(2).sum(2) / var - 0.5 * dim_ * var.log() + log_weights_;
    at::Tensor resp = log_r.softmax(1);                                        // [B, K]
    at::Tensor score = -(resp.unsqueeze(2) * diff / var.unsqueeze(2)).sum(1);  // [B, d]
    at::Tensor eps = -(1.0 - ab).sqrt().unsqueeze(1) * score;
    return eps.to(x_t.options());
  }

  // ExactDistribution
  const Quadrature& quadrature() const override { return quadrature_; }
  int64_t num_bins() const override { return static_cast<int64_t>(std::pow(bins_, dim_)); }
  std::string distance_name() const override {
    return fmt::format("total variation between {} bins over [-{}, {}]^{}", num_bins(), extent_,
                       extent_, dim_);
  }
  at::Tensor bin_of(const at::Tensor& x0) const override {
    at::Tensor x = x0.to(at::kCPU, at::kDouble).view({x0.size(0), dim_});
    at::Tensor cell = ((x + extent_) / (2 * extent_ / bins_)).floor().to(at::kLong);
    at::Tensor inside = cell.ge(0).logical_and(cell.lt(bins_)).all(1);
    at::Tensor index = cell.select(1, 0);
    if (dim_ == 2) index = index * bins_ + cell.select(1, 1);
    return at::where(inside, index, at::full_like(index, -1));
  }
  at::Tensor posterior(const at::Tensor& x_t, int step) const override {
    // p(x_0 = point | x_t) ~ mass(point) N(x_t; sqrt(ab) point, (1 - ab) I)
    const double ab = step_alpha_bar(step);
    at::Tensor x = x_t.to(at::kCPU, at::kDouble).view({x_t.size(0), dim_});
    at::Tensor d2 =
        (x.unsqueeze(1) - std::sqrt(ab) * quadrature_.points.to(at::kDouble).unsqueeze(0))
            .pow(2)
            .sum(2);
    return (quadrature_.log_mass.unsqueeze(0) - 0.5 * d2 / std::max(1.0 - ab, 1e-12)).softmax(1);
  }

  void set_schedule(GaussianDiffusionOptions options) { options_ = std::move(options); }

 private:
  double step_alpha_bar(int step) const {
    return alpha_bar_[ddim_timestep(options_, step)].item<double>();
  }

  void build_quadrature() {
    const int64_t per_bin = dim_ == 1 ? 64 : 8;
    const int64_t n = bins_ * per_bin;
    const double h = 2 * extent_ / n;
    at::Tensor axis = at::arange(n, at::kDouble) * h - extent_ + h / 2;
    at::Tensor points = dim_ == 1 ? axis.unsqueeze(1)
                                  : at::stack(at::meshgrid({axis, axis}, "ij"), 2).view({-1, 2});
    at::Tensor log_mass = log_density(points, 1.0) + dim_ * std::log(h);
    quadrature_ = {points.to(at::kFloat), log_mass, bin_of(points)};
  }

  int64_t dim_;
  double extent_;
  int64_t bins_;
  at::Tensor alpha_bar_, means_, vars_, log_weights_;
  GaussianDiffusionOptions options_;
  Quadrature quadrature_;
};

struct PositionRewardParams {
  std::vector<double> centre{2.0, -2.0};
  double width = 1.0;
  void visit(ParamVisitor& v) {
    v.field("centre", centre, "c: where the reward peaks");
    v.field("width", width, "w: r(x) = -|x - c|^2 / (2 w^2)");
    v.positive("width", width);
  }
};

// r(x) = -|x - c|^2 / (2 w^2): smooth and differentiable (torch ops only).
class PositionReward final : public RewardOracle {
 public:
  PositionReward(at::Tensor centre, double width) : centre_(std::move(centre)), width_(width) {}
  at::Tensor score(const Samples& s) override {
    const at::Tensor& x = s.tensor();
    at::Tensor c = centre_.to(x.device(), x.scalar_type());
    at::Tensor r =
        -(x.reshape({x.size(0), -1}) - c).pow(2).sum(1).to(at::kDouble) / (2 * width_ * width_);
    // A sample with a non-finite coordinate is invalid, not NaN.
    return at::where(r.isnan(), at::full_like(r, invalid_value()), r);
  }
  bool differentiable() const override { return true; }
  double invalid_value() const override { return -std::numeric_limits<double>::infinity(); }

 private:
  at::Tensor centre_;
  double width_;
};

}  // namespace

void register_toy_gmm(Registry& registry) {
  registry.add<ComponentKind::model, ToyGmmParams>(
      "toy.gmm", "a 1-2D Gaussian mixture with its exact DDPM noise prediction, DDIM sampling",
      [](const ToyGmmParams& p, const BuildContext& build) {
        GaussianDiffusionOptions options;
        options.train_steps = p.train_steps;
        options.steps = p.steps;
        options.eta = p.eta;
        options.schedule = p.schedule;
        options.chunk_rows = build.chunk_rows;
        options.device = build.device;
        auto mixture = std::make_shared<Mixture>(p, alpha_bar_schedule(options));
        mixture->set_schedule(options);
        Domain domain;
        domain.name = "toy.gmm";
        domain.kind = Domain::Kind::continuous;
        domain.shape = {p.dim};
        return make_gaussian_diffusion(std::move(domain), mixture, options, mixture);
      });
  registry.add<ComponentKind::reward, PositionRewardParams>(
      "toy.position_reward", "-|x - centre|^2 / (2 width^2) on continuous samples (differentiable)",
      [](const PositionRewardParams& p, const BuildContext&, const Domain& domain) {
        require_continuous(domain, "reward 'toy.position_reward'");
        int64_t numel = 1;
        for (int64_t d : domain.shape) numel *= d;
        if (static_cast<int64_t>(p.centre.size()) != numel) {
          throw InputError(fmt::format("centre: has {} values, the domain's samples have {}",
                                       p.centre.size(), numel));
        }
        return std::make_unique<PositionReward>(at::tensor(p.centre, at::kDouble), p.width);
      });
}

}  // namespace svdd
