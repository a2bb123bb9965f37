// The Gaussian DDPM/DDIM family on toy.gmm: samples reproduce the mixture's
// mean and covariance; SVDD-PM raises a smooth reward.
#include "catch_torch.hpp"
#include "toy_fixture.hpp"

using svdd::test::ToyFixture;

namespace {

const std::string kGmm = R"(
[experiment]
name = "gmm"
[model]
type = "toy.gmm"
means = [-2.0, -2.0, 2.0, -2.0, 0.0, 2.0]
stds = [0.5, 0.5, 0.5]
weights = [0.4, 0.3, 0.3]
steps = 100
[reward]
type = "toy.position_reward"
centre = [2.0, -2.0]
width = 1.0
[methods.pretrained]
type = "pretrained"
[methods.ddim]
type = "pretrained"
[methods.svdd_pm]
type = "svdd"
candidates = 8
)";

}  // namespace

TEST_CASE("DDPM/DDIM sampling of toy.gmm reproduces the mixture's moments", "[toy][statistical]") {
  ToyFixture toy(kGmm);
  const int64_t n = 6000;
  auto decoded = toy.decode("pretrained", n, 21);
  at::Tensor x = decoded.samples.to(at::kDouble);
  // Exact moments: mean = sum w mu, cov = sum w (s^2 I + mu mu^T) - mean mean^T.
  at::Tensor mu = at::tensor({-2.0, -2.0, 2.0, -2.0, 0.0, 2.0}, at::kDouble).view({3, 2});
  at::Tensor w = at::tensor({0.4, 0.3, 0.3}, at::kDouble);
  at::Tensor mean = (w.unsqueeze(1) * mu).sum(0);
  at::Tensor second = (w.view({3, 1, 1}) * (mu.unsqueeze(2) * mu.unsqueeze(1))).sum(0) +
                      0.25 * at::eye(2, at::kDouble);
  at::Tensor cov = second - mean.unsqueeze(1) * mean.unsqueeze(0);
  at::Tensor sample_mean = x.mean(0);
  at::Tensor centred = x - sample_mean;
  at::Tensor sample_cov = centred.t().matmul(centred) / double(n - 1);
  // 5 standard errors: se(mean_i) = sqrt(cov_ii / n); se(cov_ij) <= sqrt((cov_ii cov_jj +
  // cov_ij^2) / n) for near-Gaussian data, doubled for the mixture's heavier fourth moments;
  // plus 0.05 for the 100-step discretisation.
  for (int i = 0; i < 2; ++i) {
    const double se = std::sqrt(cov[i][i].item<double>() / n);
    INFO("mean[" << i << "] " << sample_mean[i].item<double>() << " vs " << mean[i].item<double>());
    CHECK(std::abs(sample_mean[i].item<double>() - mean[i].item<double>()) < 5 * se + 0.05);
    for (int j = 0; j < 2; ++j) {
      const double cij = cov[i][j].item<double>();
      const double se_cov =
          2 * std::sqrt((cov[i][i].item<double>() * cov[j][j].item<double>() + cij * cij) / n);
      INFO("cov[" << i << "][" << j << "] " << sample_cov[i][j].item<double>() << " vs " << cij);
      CHECK(std::abs(sample_cov[i][j].item<double>() - cij) < 5 * se_cov + 0.05);
    }
  }
}

TEST_CASE("SVDD-PM raises the mean reward on toy.gmm", "[toy][statistical]") {
  ToyFixture toy(kGmm);
  const int64_t n = 400;
  auto pretrained = toy.decode("pretrained", n, 31);
  auto guided = toy.decode("svdd_pm", n, 32);
  const double gain =
      guided.rewards.mean().item<double>() - pretrained.rewards.mean().item<double>();
  const double se = std::sqrt(
      (pretrained.rewards.var().item<double>() + guided.rewards.var().item<double>()) / n);
  INFO("gain " << gain << " se " << se);
  CHECK(gain > 6 * se);
  // And it moves samples toward the target: the binned target distance shrinks.
  CHECK(toy.target_distance(guided.samples, 1.0) < toy.target_distance(pretrained.samples, 1.0));
}
