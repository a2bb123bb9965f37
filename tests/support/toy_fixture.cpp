#include "toy_fixture.hpp"

#include <c10/core/InferenceMode.h>

#include <cmath>
#include <fstream>
#include <random>

namespace svdd::test {

TempDir::TempDir() {
  std::random_device rd;
  path_ = std::filesystem::temp_directory_path() /
          ("svdd_test_" + std::to_string(rd()) + std::to_string(rd()));
  std::filesystem::create_directories(path_);
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::filesystem::path TempDir::write(const std::string& name, const std::string& text) const {
  auto file = path_ / name;
  std::ofstream(file) << text;
  return file;
}

ToyFixture::ToyFixture(const std::string& toml) {
  register_core_components(registry_);
  experiment_ = load_experiment(dir_.write("experiment.toml", toml), {}, registry_);
  const RunPlan& plan = experiment_.runs.front();
  build_.device = plan.settings.device;
  build_.chunk_rows = plan.settings.chunk_rows;
  build_.registry = &registry_;
  model_ = registry_.make<svdd::ComponentKind::model>(plan.model, build_);
  reward_ = registry_.make<svdd::ComponentKind::reward>(plan.reward, build_, model_->domain());
}

Decoded ToyFixture::decode(const std::string& method, int64_t samples, uint64_t seed) {
  const RunPlan* plan = nullptr;
  for (const auto& run : experiment_.runs) {
    if (run.label == method) plan = &run;
  }
  if (!plan) throw std::runtime_error("no run " + method);
  Decoded out;
  auto model = counted(*model_, out.cost);
  auto reward = counted(*reward_, model_->domain(), out.cost, build_.chunk_rows);
  MethodDeps deps{*model, *reward,
                  [&](const ComponentSpec& spec, double alpha) {
                    return registry_.make<svdd::ComponentKind::value>(
                        spec, ValueDeps{*model, *reward, alpha, build_});
                  },
                  build_};
  auto m = registry_.make<svdd::ComponentKind::method>(plan->method_spec, deps);
  DecodeOptions options;
  options.samples = samples;
  options.chunk_rows = build_.chunk_rows;
  out.samples = decode_batch(*m, *model, *reward, out.cost,
                             at::make_generator<at::CPUGeneratorImpl>(seed), options);
  c10::InferenceMode guard;
  out.rewards = reward_->score(Samples(out.samples, model_->domain())).to(at::kDouble);
  return out;
}

at::Tensor ToyFixture::target(double alpha) {
  const ExactDistribution& exact = *model_->exact();
  const auto& q = exact.quadrature();
  at::Tensor log_w = q.log_mass.clone();
  if (alpha > 0) {
    c10::InferenceMode guard;
    log_w = log_w + reward_->score(Samples(q.points, model_->domain())).to(at::kDouble) / alpha;
  }
  return at::zeros({exact.num_bins()}, at::kDouble).index_add_(0, q.bin, log_w.softmax(0));
}

double ToyFixture::target_distance(const at::Tensor& samples, double alpha) {
  const ExactDistribution& exact = *model_->exact();
  at::Tensor bins = exact.bin_of(samples);
  at::Tensor inside = bins.ge(0);
  const double n = static_cast<double>(samples.size(0));
  at::Tensor counts = at::zeros({exact.num_bins()}, at::kDouble)
                          .index_add_(0, bins.masked_select(inside),
                                      at::ones({inside.sum().item<int64_t>()}, at::kDouble));
  const double outside = 1.0 - inside.sum().item<double>() / n;
  return 0.5 * ((counts / n - target(alpha)).abs().sum().item<double>() + outside);
}

double tv_noise_bound(const at::Tensor& p, int64_t n, double delta) {
  const double mean_bound = 0.5 * (p * (1 - p) / double(n)).sqrt().sum().item<double>();
  return mean_bound + std::sqrt(std::log(1.0 / delta) / (2.0 * n));
}

double reveal_collision_probability(int64_t length, int64_t steps) {
  double distinct = 1.0;
  for (int64_t i = 0; i < length; ++i) distinct *= double(steps - i) / double(steps);
  return 1.0 - distinct;
}

}  // namespace svdd::test
