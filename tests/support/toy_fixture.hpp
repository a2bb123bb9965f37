// Test support: build an experiment's components from TOML text and decode
// with any of its methods through the shared loop, without writing results.
#pragma once

#include <ATen/ATen.h>

#include <filesystem>
#include <memory>
#include <string>

#include "svdd/decoding/decoding_loop.hpp"
#include "svdd/config/experiment.hpp"
#include "svdd/registry.hpp"

namespace svdd::test {

// A fresh temporary folder, removed with the object.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path write(const std::string& name, const std::string& text) const;

 private:
  std::filesystem::path path_;
};

struct Decoded {
  at::Tensor samples;  // [N, ...]
  at::Tensor rewards;  // [N] float64
  Cost cost;
};

class ToyFixture {
 public:
  // `toml` is a complete experiment file.
  explicit ToyFixture(const std::string& toml);

  // Decodes `samples` samples with method `method` (its table name).
  Decoded decode(const std::string& method, int64_t samples, uint64_t seed);

  DiffusionModel& model() { return *model_; }
  RewardOracle& reward() { return *reward_; }
  const Experiment& experiment() const { return experiment_; }
  Registry& registry() { return registry_; }

  // Total variation between the samples' bins and p_pre(x) exp(r/alpha) / Z
  // (alpha = infinity, i.e. p_pre itself, when alpha < 0).
  double target_distance(const at::Tensor& samples, double alpha);
  // The target bin probabilities [bins].
  at::Tensor target(double alpha);

 private:
  TempDir dir_;
  Registry registry_;
  Experiment experiment_;
  BuildContext build_;
  std::unique_ptr<DiffusionModel> model_;
  std::unique_ptr<RewardOracle> reward_;
};

// An upper bound on E[TV] between N exact samples of p and p itself:
// 0.5 * sum_i sqrt(p_i (1 - p_i) / N) (Jensen), plus a McDiarmid deviation
// sqrt(ln(1/delta) / (2N)) that TV exceeds with probability below delta.
double tv_noise_bound(const at::Tensor& p, int64_t n, double delta = 1e-6);

// Probability that two of L positions are revealed at the same one of T
// masked-diffusion steps (each position's reveal step is uniform on 1..T);
// only then does the factorised reverse step deviate from p_pre, so it bounds
// that sampler's total-variation error.
double reveal_collision_probability(int64_t length, int64_t steps);

}  // namespace svdd::test
