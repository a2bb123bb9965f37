// ValueNetwork: the time-conditioned regression network of SVDD-MC (Li et
// al. 2024, arXiv:2408.08252, section 4.2), v_theta(x_t, t) ~ E[r(x_0) | x_t],
// for any domain: a registered architecture (a ValueModel, value_model.hpp:
// core's "mlp" for any domain, a plugin's for its own) together with the
// standardisation of the regression target and the card that says what the
// network was trained for.
//
// `svdd train` (value_training.hpp) fits it; the value estimator "learned"
// and classifier guidance load it. A checkpoint "NAME.pt" always travels with
// its card "NAME.card.toml", which says what the network was trained for
// (domain, steps, architecture and its table, training figures) and is
// checked before use. libtorch's C++ frontend stays in the implementation.
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
#include "svdd/registry.hpp"
#include "svdd/trainer.hpp"  // card_path

namespace svdd {

class SVDD_API ValueNetwork {
 public:
  // A fresh network for samples of `domain` drawn by a model of `num_steps`
  // steps: the architecture `spec` names (ComponentKind::value_network),
  // built by `registry`, its weights drawn from `generator` (CPU; libtorch's
  // default generator is seeded from it first).
  ValueNetwork(const Registry& registry, const ComponentSpec& spec, const Domain& domain,
               int num_steps, at::Generator& generator);
  ~ValueNetwork();
  ValueNetwork(ValueNetwork&&) noexcept;
  ValueNetwork& operator=(ValueNetwork&&) noexcept;

  // x [B, ...shape] (int64 tokens or float, any device) at steps [B] int64
  // in [0, T] -> predicted reward [B] float32 on the network's device:
  // target_mean + target_scale * (the architecture's output).
  at::Tensor predict(const at::Tensor& x, const at::Tensor& steps);
  // The gradient of the prediction for guidance (classifier guidance):
  // continuous x [B, ...] -> d v / d x [B, ...] float32; discrete tokens
  // x [B, L] -> d v / d onehot(x) [B, L, V] float32, the first-order change
  // of the prediction when a position takes each token. On the network's
  // device; computed with gradients on whatever the caller's mode. Throws
  // InputError when the architecture has no gradient in tokens.
  at::Tensor gradient(const at::Tensor& x, const at::Tensor& steps);
  // The standardisation of the regression target (stored with the weights).
  void set_target_scale(double mean, double scale);
  void to(const std::string& device);
  void train(bool on);

  // The architecture's registered name ("mlp", "sequence.dilated_conv").
  const std::string& architecture() const;
  int num_steps() const;
  // Trainable parameters, for an optimiser.
  std::vector<at::Tensor> parameters() const;
  // Every parameter and buffer by name (for training checkpoints).
  std::vector<std::pair<std::string, at::Tensor>> named_state() const;
  // The buffers (batch-norm statistics, the target's standardisation).
  std::vector<at::Tensor> buffers() const;
  // Copies every tensor of the checkpoint `file` (a value network's or a
  // model's, e.g. the pretrained denoiser) whose name and shape match one of
  // this network's parameters or buffers; returns how many were copied and
  // how many of this network's parameters there are. InputError when the
  // file does not read.
  std::pair<int64_t, int64_t> warm_start(const std::filesystem::path& file);
  int64_t parameter_count() const;

  // The [domain] and [network] tables of the card (the architecture's type
  // and effective table), as TOML text.
  std::string card_toml() const;
  // Weights and buffers. load() throws InputError when `file` is unreadable
  // or holds another architecture.
  void save(const std::filesystem::path& file) const;
  void load(const std::filesystem::path& file);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Loads a network written by `svdd train` and moves it to build.device in
// evaluation mode, after checking its card: the card's domain (name, kind,
// shape, vocabulary, mask) and number of steps must be those of the model it
// is used with, and its architecture must be registered (build.registry
// rebuilds it; a card without a type is core's "mlp"). Throws InputError
// naming the files and every mismatch.
SVDD_API std::unique_ptr<ValueNetwork> load_value_network(const std::filesystem::path& checkpoint,
                                                          const Domain& domain, int num_steps,
                                                          const BuildContext& build);

}  // namespace svdd
