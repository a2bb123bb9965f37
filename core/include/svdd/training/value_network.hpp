// ValueNetwork: the small time-conditioned regression network of SVDD-MC
// (Li et al. 2024, arXiv:2408.08252, section 4.2), v_theta(x_t, t) ~
// E[r(x_0) | x_t], for any domain. Discrete samples (int64 tokens [B, L],
// the mask token included in the vocabulary) are embedded token by token;
// continuous samples (float [B, ...]) are flattened. Either is concatenated
// with sinusoidal features of t = step / T and fed to an MLP with one output.
//
// `svdd train` (value_training.hpp) fits it; the value estimator "learned"
// loads it. A checkpoint "NAME.pt" always travels with its card
// "NAME.card.toml", which says what the network was trained for (domain,
// steps, architecture, training figures) and is checked before use.
// libtorch's C++ frontend stays in the implementation.
#pragma once

#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "svdd/domain.hpp"
#include "svdd/export.hpp"
#include "svdd/params.hpp"
#include "svdd/trainer.hpp"  // card_path

namespace svdd {

struct SVDD_API ValueNetworkParams {
  int64_t embedding = 16;      // discrete: size of each token's embedding
  int64_t time_features = 16;  // sinusoidal features of t (even), besides t itself
  std::vector<int64_t> hidden{128, 128};
  std::string pooling = "flatten";  // discrete: "flatten" or "mean" (with positions)

  void visit(ParamVisitor& v);
};

class SVDD_API ValueNetwork {
 public:
  // A fresh network for samples of `domain` drawn by a model of `num_steps`
  // steps, its weights drawn from `generator` (CPU).
  ValueNetwork(const ValueNetworkParams& params, const Domain& domain, int num_steps,
               at::Generator& generator);
  ~ValueNetwork();
  ValueNetwork(ValueNetwork&&) noexcept;
  ValueNetwork& operator=(ValueNetwork&&) noexcept;

  // x [B, ...shape] (int64 tokens or float, any device) at steps [B] int64
  // in [0, T] -> predicted reward [B] float32 on the network's device:
  // target_mean + target_scale * (the MLP's output).
  at::Tensor predict(const at::Tensor& x, const at::Tensor& steps);
  // The gradient of the prediction for guidance (classifier guidance):
  // continuous x [B, ...] -> d v / d x [B, ...] float32; discrete tokens
  // x [B, L] -> d v / d onehot(x) [B, L, V] float32, the first-order change
  // of the prediction when a position takes each token. On the network's
  // device; computed with gradients on whatever the caller's mode.
  at::Tensor gradient(const at::Tensor& x, const at::Tensor& steps);
  // The standardisation of the regression target (stored with the weights).
  void set_target_scale(double mean, double scale);
  void to(const std::string& device);
  void train(bool on);

  const ValueNetworkParams& params() const;
  int num_steps() const;
  // Trainable parameters, for an optimiser.
  std::vector<at::Tensor> parameters() const;
  // Every parameter and buffer by name (for training checkpoints).
  std::vector<std::pair<std::string, at::Tensor>> named_state() const;
  int64_t parameter_count() const;

  // The [domain] and [network] tables of the card, as TOML text.
  std::string card_toml() const;
  // Weights and buffers. load() throws InputError when `file` is unreadable
  // or holds another architecture.
  void save(const std::filesystem::path& file) const;
  void load(const std::filesystem::path& file);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Loads a network written by `svdd train` and moves it to `device` in
// evaluation mode, after checking its card: the card's domain (name, kind,
// shape, vocabulary, mask) and number of steps must be those of the model it
// is used with. Throws InputError naming the files and every mismatch.
SVDD_API std::unique_ptr<ValueNetwork> load_value_network(const std::filesystem::path& checkpoint,
                                                          const Domain& domain, int num_steps,
                                                          const std::string& device);

}  // namespace svdd
