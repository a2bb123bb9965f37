// Activity oracles (see activity_oracle.hpp): a small convolutional
// regressor of one-hot sequences, in the style of the CNN activity models
// SVDD and DRAKES guide with (Basset/Enformer-like conv, pool, dense
// stacks; Optimus 5-Prime for 5'UTRs: Sample et al. 2019), sized for CPU
// inference, since guiding scores tens of thousands of candidates per batch.
//
//   one-hot [B, L, 4] -> per layer: conv (same padding) -> batch norm ->
//   ReLU (exp in the first layer with first_activation = "exp") -> max pool
//   -> dropout; then flatten, or mean or max over positions -> dense layers
//   (linear -> batch norm -> ReLU -> dropout) -> 1 output
//
// `members` such networks, each trained on its own loss, form an ensemble
// whose mean is the prediction. The networks regress standardised targets;
// the targets' mean and standard deviation travel in the checkpoint as
// buffers, so the oracle predicts in data units.
//
// The trainer `sequence.train_oracle` fits it with the mean squared error,
// holds back a share of the training part's elements to choose the best
// epoch, and reports Pearson and Spearman correlations on the test elements,
// which no oracle and no diffusion model of the plugin trains on.
#include "activity_oracle.hpp"

#include <ATen/CPUGeneratorImpl.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>

#include "conv_denoiser.hpp"
#include "kmer_statistics.hpp"
#include "sequence_data.hpp"
#include "sequence_domain.hpp"
#include "svdd/error.hpp"
#include "svdd/trainer.hpp"
#include "svdd/training/card.hpp"
#include "svdd/training/epoch_loop.hpp"
#include "svdd/training/finite_weights.hpp"
#include "svdd/util/log.hpp"
#include "svdd/util/seeding.hpp"

namespace svdd::sequence {

void OracleResults::visit(ParamVisitor& v) {
  v.field("parameters", parameters, "trainable parameters of the network");
  v.field("epochs", epochs, "epochs run (fewer than asked when patience stopped early)");
  v.field("best_epoch", best_epoch, "the epoch whose weights were kept (best validation r)");
  v.field("train_rows", train_rows, "rows trained on");
  v.field("validation_rows", validation_rows, "rows held out to measure the fit after each epoch");
  v.field("test_rows", test_rows, "rows of the test split");
  v.field("train_loss_per_epoch", train_loss_per_epoch,
          "mean squared error, standardised, mean over members, while training");
  v.field("validation_loss_per_epoch", validation_loss_per_epoch,
          "mean squared error of the oracle, standardised");
  v.field("validation_pearson_per_epoch", validation_pearson_per_epoch,
          "Pearson r of the oracle on the validation rows after each epoch");
  v.field("initial_validation_loss", initial_validation_loss, "before training");
  v.field("validation_pearson", validation_pearson, "at best_epoch");
  v.field("test_pearson", test_pearson, "on the test elements");
  v.field("test_spearman", test_spearman, "on the test elements");
  v.field("training_seconds", training_seconds, "wall time of the training, in seconds");
}

namespace {

// ---- the network -------------------------------------------------------------

struct OracleNetworkParams {
  std::vector<int64_t> channels{64, 64, 64};
  std::vector<int64_t> kernels{9, 7, 5};
  std::vector<int64_t> pools{4, 4, 1};
  std::string first_activation = "exp";
  std::string pooling = "mean";
  std::vector<int64_t> hidden{64};
  double dropout = 0.2;
  int64_t members = 1;

  void visit(ParamVisitor& v) {
    v.field("channels", channels, "output channels of each convolution layer");
    v.require(!channels.empty(), "channels", "must name at least one layer");
    for (int64_t c : channels) v.require(c >= 1, "channels", "every entry must be >= 1");
    v.field("kernels", kernels, "kernel size of each convolution layer (odd)");
    v.require(kernels.size() == channels.size(), "kernels", "needs one entry per channels entry");
    for (int64_t k : kernels) v.require(k >= 1 && k % 2 == 1, "kernels", "must be odd and >= 1");
    v.field("pools", pools, "max-pool width after each convolution layer (1: none)");
    v.require(pools.size() == channels.size(), "pools", "needs one entry per channels entry");
    for (int64_t p : pools) v.require(p >= 1, "pools", "every entry must be >= 1");
    v.field("first_activation", first_activation,
            "activation of the first layer: \"exp\" (sharper motif detectors that generalise "
            "better from little data: Koo and Ploenzke 2021) or \"relu\"");
    v.require(first_activation == "relu" || first_activation == "exp", "first_activation",
              "must be \"relu\" or \"exp\"");
    v.field("pooling", pooling,
            "how positions reach the dense layers: \"flatten\" (keeps where a feature is), "
            "\"mean\" or \"max\"");
    v.require(pooling == "flatten" || pooling == "mean" || pooling == "max", "pooling",
              "must be \"flatten\", \"mean\" or \"max\"");
    v.field("hidden", hidden, "widths of the dense layers before the output");
    for (int64_t h : hidden) v.require(h >= 1, "hidden", "every entry must be >= 1");
    v.field("dropout", dropout, "dropout after every layer while training");
    v.in_half_open_range("dropout", dropout, 0, 1);
    v.field("members", members,
            "networks of this architecture, each trained on its own loss from its own "
            "initial weights; the oracle is their mean");
    v.at_least("members", members, 1);
  }
};

struct ConvLayerImpl : torch::nn::Module {
  ConvLayerImpl(int64_t in, int64_t out, int64_t kernel, int64_t pool, double dropout,
                bool exponential)
      : conv(register_module(
            "conv",
            torch::nn::Conv1d(
                torch::nn::Conv1dOptions(in, out, kernel).padding(kernel / 2).bias(false)))),
        norm(register_module("norm", torch::nn::BatchNorm1d(out))),
        pool(pool),
        dropout(dropout),
        exponential(exponential) {}

  // [B, C_in, L] -> [B, C_out, L / pool]
  torch::Tensor forward(const torch::Tensor& h) {
    torch::Tensor y = exponential ? torch::exp(norm(conv(h))) : torch::relu(norm(conv(h)));
    if (pool > 1) y = torch::max_pool1d(y, pool);
    return torch::dropout(y, dropout, is_training());
  }

  torch::nn::Conv1d conv;
  torch::nn::BatchNorm1d norm;
  int64_t pool;
  double dropout;
  bool exponential;
};
TORCH_MODULE(ConvLayer);

// Batch norm before the ReLU keeps every unit alive: the flattened input is
// wide and all positive, so without it Adam's first steps can push every
// unit of a dense layer below zero for good.
struct DenseLayerImpl : torch::nn::Module {
  DenseLayerImpl(int64_t in, int64_t out, double dropout)
      : linear(register_module("linear",
                               torch::nn::Linear(torch::nn::LinearOptions(in, out).bias(false)))),
        norm(register_module("norm", torch::nn::BatchNorm1d(out))),
        dropout(dropout) {}

  // [B, in] -> [B, out]
  torch::Tensor forward(const torch::Tensor& h) {
    return torch::dropout(torch::relu(norm(linear(h))), dropout, is_training());
  }

  torch::nn::Linear linear;
  torch::nn::BatchNorm1d norm;
  double dropout;
};
TORCH_MODULE(DenseLayer);

// One member of the ensemble: conv layers, pooling over positions, dense
// layers, one output.
struct TowerImpl : torch::nn::Module {
  TowerImpl(const OracleNetworkParams& p, int64_t length) : pooling(p.pooling) {
    int64_t in = 4, positions = length;
    for (size_t i = 0; i < p.channels.size(); ++i) {
      conv_layers.push_back(register_module(
          fmt::format("conv{}", i), ConvLayer(in, p.channels[i], p.kernels[i], p.pools[i],
                                              p.dropout, i == 0 && p.first_activation == "exp")));
      in = p.channels[i];
      positions /= p.pools[i];
    }
    if (positions < 1) {
      throw InputError(fmt::format(
          "oracle network: the pools leave no position of a sequence of length {}", length));
    }
    int64_t features = p.pooling == "flatten" ? in * positions : in;
    for (size_t i = 0; i < p.hidden.size(); ++i) {
      dense.push_back(
          register_module(fmt::format("dense{}", i), DenseLayer(features, p.hidden[i], p.dropout)));
      features = p.hidden[i];
    }
    out = register_module("out", torch::nn::Linear(features, 1));
  }

  // [B, L, 4] -> [B]
  torch::Tensor forward(const torch::Tensor& onehot) {
    torch::Tensor h = onehot.transpose(1, 2);  // [B, 4, L]
    for (auto& layer : conv_layers) h = layer->forward(h);
    if (pooling == "flatten") {
      h = h.flatten(1);
    } else if (pooling == "mean") {
      h = h.mean(2);
    } else {
      h = std::get<0>(h.max(2));
    }
    for (auto& layer : dense) h = layer->forward(h);
    return out(h).squeeze(1);
  }

  std::string pooling;
  std::vector<ConvLayer> conv_layers;
  std::vector<DenseLayer> dense;
  torch::nn::Linear out{nullptr};
};
TORCH_MODULE(Tower);

struct OracleNetImpl : torch::nn::Module {
  OracleNetImpl(const OracleNetworkParams& p, int64_t length)
      : target_mean(register_buffer("target_mean", torch::zeros({}, torch::kDouble))),
        target_std(register_buffer("target_std", torch::ones({}, torch::kDouble))),
        target_min(register_buffer("target_min", torch::zeros({}, torch::kDouble))) {
    for (int64_t k = 0; k < p.members; ++k) {
      members.push_back(register_module(fmt::format("member{}", k), Tower(p, length)));
    }
  }

  // One-hot (or probabilities) [B, L, 4] float32 -> each member's
  // standardised activity [K, B].
  torch::Tensor member_outputs(const torch::Tensor& onehot) {
    std::vector<torch::Tensor> outputs;
    for (auto& member : members) outputs.push_back(member->forward(onehot));
    return torch::stack(outputs);
  }

  // The ensemble's mean [B].
  torch::Tensor forward(const torch::Tensor& onehot) { return member_outputs(onehot).mean(0); }

  // The same in data units, float64.
  torch::Tensor predict(const torch::Tensor& onehot) {
    return forward(onehot).to(torch::kDouble) * target_std + target_mean;
  }

  int64_t parameter_count() const {
    int64_t n = 0;
    for (const auto& p : parameters()) n += p.numel();
    return n;
  }

  torch::Tensor target_mean, target_std, target_min;  // data units
  std::vector<Tower> members;
};
TORCH_MODULE(OracleNet);

// Token ids [N, L] -> one-hot float32 [N, L, 4]; any id outside 0-3 (the
// mask) becomes a zero row.
torch::Tensor letters_one_hot(const torch::Tensor& tokens) {
  torch::Tensor ids = tokens.to(torch::kLong).clamp(0, 4);
  return torch::one_hot(ids, 5).slice(2, 0, 4).to(torch::kFloat);
}

// Predictions in data units [N] float64 on the CPU, without gradients.
torch::Tensor predict_tokens(OracleNet& net, const torch::Tensor& tokens, int64_t chunk_rows,
                             const torch::Device& device) {
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> parts;
  for (int64_t b = 0; b < tokens.size(0); b += chunk_rows) {
    const int64_t e = std::min(tokens.size(0), b + chunk_rows);
    parts.push_back(
        net->predict(letters_one_hot(tokens.slice(0, b, e).to(device))).to(torch::kCPU));
  }
  return parts.empty() ? torch::empty({0}, torch::kDouble) : torch::cat(parts);
}

// Spearman's rank correlation (average ranks for ties).
torch::Tensor ranks(const torch::Tensor& x) {
  const torch::Tensor v = x.to(torch::kDouble).contiguous();
  const int64_t n = v.numel();
  const double* data = v.data_ptr<double>();
  std::vector<int64_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](int64_t a, int64_t b) { return data[a] < data[b]; });
  torch::Tensor r = torch::empty({n}, torch::kDouble);
  double* out = r.data_ptr<double>();
  for (int64_t i = 0; i < n;) {
    int64_t j = i;
    while (j + 1 < n && data[order[j + 1]] == data[order[i]]) ++j;
    for (int64_t k = i; k <= j; ++k) out[order[k]] = 0.5 * double(i + j);
    i = j + 1;
  }
  return r;
}

double spearman(const torch::Tensor& a, const torch::Tensor& b) {
  return pearson(ranks(a), ranks(b));
}

// ---- loading -------------------------------------------------------------------

struct LoadedOracle {
  OracleNet net{nullptr};  // evaluation mode, parameters frozen, on the device
  Alphabet alphabet = Alphabet::dna;
  int64_t length = 0;
};

LoadedOracle load_oracle(const std::filesystem::path& checkpoint, const torch::Device& device) {
  if (!std::filesystem::is_regular_file(checkpoint)) {
    throw InputError(fmt::format("oracle checkpoint not found: {}", checkpoint.string()));
  }
  const auto card = checked_card(checkpoint);
  const auto network = read_card_section<OracleNetworkParams>(card, "network");
  const auto domain = read_card_section<SequenceDomainCard>(card, "domain");
  LoadedOracle loaded;
  loaded.alphabet = alphabet_from(domain.alphabet);
  loaded.length = domain.length;
  loaded.net = OracleNet(network, domain.length);
  try {
    torch::serialize::InputArchive archive;
    archive.load_from(checkpoint.string(), device);
    loaded.net->load(archive);
    require_finite_weights(loaded.net->parameters(), checkpoint);
  } catch (const c10::Error& e) {
    throw InputError(fmt::format("cannot load the oracle {} (does its card match it?): {}",
                                 checkpoint.string(), e.what_without_backtrace()));
  }
  loaded.net->to(device);
  loaded.net->eval();
  for (auto& p : loaded.net->parameters()) p.set_requires_grad(false);
  return loaded;
}

// ---- the reward ------------------------------------------------------------------

struct OracleParams {
  FilePath checkpoint;
  void visit(ParamVisitor& v) {
    v.field("checkpoint", checkpoint,
            "an oracle written by `svdd train` with a sequence.train_oracle file (its card "
            "beside it says the alphabet and length)");
    v.require(!checkpoint.path.empty(), "checkpoint", "is required");
  }
};

// The predicted activity of each sequence, in the units of the oracle's
// training target. A sequence holding a mask (or any id outside the four
// letters) scores invalid_value(): the lowest target the oracle was trained
// on.
class SequenceOracle final : public RewardOracle {
 public:
  SequenceOracle(LoadedOracle loaded, torch::Device device, int64_t chunk_rows)
      : loaded_(std::move(loaded)), device_(device), chunk_rows_(chunk_rows) {}

  // Token ids [B, L] int64, or probabilities [B, L, V] float (V >= 4; the
  // first four channels are the letters, the rest is ignored, so a row
  // weighs its letters as given) whose graph is kept for gradients.
  // Returns [B] float64 on the CPU.
  at::Tensor score(const Samples& samples) override {
    const at::Tensor& x = samples.tensor();
    check_shape(x);
    if (x.is_floating_point()) return score_probabilities(x);
    const at::Tensor tokens = x.to(torch::kCPU, torch::kLong);
    const at::Tensor invalid = (tokens.lt(0) | tokens.ge(4)).any(1);
    const at::Tensor scores = predict_tokens(loaded_.net, tokens, chunk_rows_, device_);
    return torch::where(invalid, torch::full_like(scores, invalid_value()), scores);
  }
  bool differentiable() const override { return true; }
  double invalid_value() const override { return loaded_.net->target_min.item<double>(); }

 private:
  void check_shape(const at::Tensor& x) const {
    const bool tokens = !x.is_floating_point() && x.dim() == 2;
    const bool probabilities = x.is_floating_point() && x.dim() == 3 && x.size(2) >= 4;
    if ((!tokens && !probabilities) || x.size(1) != loaded_.length) {
      throw RuntimeFailure(fmt::format(
          "sequence.oracle scores token ids [B, {0}] or probabilities [B, {0}, V >= 4], got {1}",
          loaded_.length, fmt::join(x.sizes(), "x")));
    }
  }

  at::Tensor score_probabilities(const at::Tensor& x) {
    std::vector<at::Tensor> parts;
    for (int64_t b = 0; b < x.size(0); b += chunk_rows_) {
      const int64_t e = std::min(x.size(0), b + chunk_rows_);
      at::Tensor p = x.slice(0, b, e).slice(2, 0, 4).to(device_, torch::kFloat);
      parts.push_back(loaded_.net->predict(p).to(torch::kCPU));
    }
    return parts.empty() ? torch::empty({0}, torch::kDouble) : torch::cat(parts);
  }

  LoadedOracle loaded_;
  torch::Device device_;
  int64_t chunk_rows_;
};

// ---- the trainer -------------------------------------------------------------------

struct OracleTrainingParams {
  SequenceDataParams data;
  std::string part = "train_a";
  int64_t max_rows = 0;
  double validation_fraction = 0.1;
  OracleNetworkParams network;
  int64_t epochs = 20;
  int64_t patience = 0;
  int64_t shift = 0;
  int64_t batch_size = 128;
  double learning_rate = 2e-3;
  double weight_decay = 1e-2;

  void visit(ParamVisitor& v) {
    data.visit(v, /*with_target=*/true);
    v.field("part", part,
            "rows to train on: train_a (the guiding oracle), train_b (the held-out one) or train "
            "(both); the test elements stay held out");
    v.require(part == "train" || part == "train_a" || part == "train_b", "part",
              "must be train, train_a or train_b (test elements stay held out)");
    v.field("max_rows", max_rows, "use at most this many rows of the part (0: all)");
    v.non_negative("max_rows", max_rows);
    v.field("validation_fraction", validation_fraction,
            "share of the part's elements held back to choose the best epoch");
    v.in_open_range("validation_fraction", validation_fraction, 0, 1);
    network.visit(v);
    v.field("epochs", epochs, "passes over the training rows (at most)");
    v.at_least("epochs", epochs, 1);
    v.field("patience", patience,
            "stop after this many epochs without a better validation r (0: run every epoch)");
    v.non_negative("patience", patience);
    v.field("shift", shift,
            "augmentation: move each training sequence by up to this many positions, either "
            "way, filling with zero rows");
    v.non_negative("shift", shift);
    v.field("batch_size", batch_size, "sequences per gradient step");
    v.at_least("batch_size", batch_size, 1);
    v.field("learning_rate", learning_rate, "AdamW's peak learning rate (cosine decay to 0)");
    v.positive("learning_rate", learning_rate);
    v.field("weight_decay", weight_decay, "AdamW's weight decay");
    v.non_negative("weight_decay", weight_decay);
  }
};

// [data] on the card.
struct OracleDataCard {
  std::string file, sha1, part, target_column;
  int64_t rows = 0, elements = 0, validation_rows = 0, validation_elements = 0, split_seed = 0;
  double test_fraction = 0, train_a_share = 0;
  double target_mean = 0, target_std = 0, target_min = 0, target_max = 0;
  void visit(ParamVisitor& v) {
    v.field("file", file, "the data table, relative to the data folder");
    v.field("sha1", sha1, "SHA-1 of the data table's bytes");
    v.field("part", part, "the part of the table trained on (train, train_a or train_b)");
    v.field("target_column", target_column, "the column of measured activity regressed on");
    v.field("rows", rows, "rows of the part used (training plus validation)");
    v.field("elements", elements,
            "distinct elements in those rows (the split keeps an element's rows together)");
    v.field("validation_rows", validation_rows,
            "rows held out to measure the fit after each epoch");
    v.field("validation_elements", validation_elements, "distinct elements in the validation rows");
    v.field("split_seed", split_seed,
            "seed of the split of elements (or molecules) into train and test");
    v.field("test_fraction", test_fraction, "share held out for testing");
    v.field("train_a_share", train_a_share,
            "share of the training elements in part train_a (the rest are train_b)");
    v.field("target_mean", target_mean, "of the training rows; the network's output unit");
    v.field("target_std", target_std, "standard deviation of the target over the training rows");
    v.field("target_min", target_min, "the oracle's invalid_value()");
    v.field("target_max", target_max, "largest target of the training rows");
  }
};

torch::Tensor rows_where(const torch::Tensor& t, const std::vector<int64_t>& rows) {
  return t.index_select(0, torch::tensor(rows, torch::kLong));
}

// The rows of `data` split by element: a share `fraction` of the elements
// (each drawn from its name and the seed) -> validation.
struct RowSplit {
  std::vector<int64_t> train, validation;
  int64_t validation_elements = 0;
};
RowSplit split_by_element(const std::vector<std::string>& elements, double fraction, int64_t seed) {
  RowSplit split;
  std::vector<std::string> held;
  for (size_t i = 0; i < elements.size(); ++i) {
    const double u = double(stream_seed(seed, "validation:" + elements[i], 0) >> 11) * 0x1.0p-53;
    if (u < fraction) {
      split.validation.push_back(static_cast<int64_t>(i));
      held.push_back(elements[i]);
    } else {
      split.train.push_back(static_cast<int64_t>(i));
    }
  }
  std::sort(held.begin(), held.end());
  split.validation_elements = std::unique(held.begin(), held.end()) - held.begin();
  return split;
}

// Shift augmentation of one-hot rows [B, L, 4]: each row moves by a
// uniform -shift..shift positions, zero rows filling in.
torch::Tensor shifted(const torch::Tensor& x, int64_t shift, at::Generator& generator) {
  if (shift == 0) return x;
  const int64_t b = x.size(0), length = x.size(1);
  const torch::Tensor padded = torch::constant_pad_nd(x, {0, 0, shift, shift});
  const torch::Tensor start = torch::randint(0, 2 * shift + 1, {b, 1}, generator, torch::kLong);
  const torch::Tensor index = (start + torch::arange(length, torch::kLong)).unsqueeze(2);
  return padded.gather(1, index.expand({b, length, 4}));
}

// Weights and buffers by name, for keeping the best epoch.
using State = std::vector<std::pair<std::string, torch::Tensor>>;
State snapshot(OracleNet& net) {
  torch::NoGradGuard no_grad;
  State state;
  for (const auto& item : net->named_parameters()) state.emplace_back(item.key(), item->clone());
  for (const auto& item : net->named_buffers()) state.emplace_back(item.key(), item->clone());
  return state;
}

void restore(OracleNet& net, const State& state) {
  torch::NoGradGuard no_grad;
  auto parameters = net->named_parameters();
  auto buffers = net->named_buffers();
  for (const auto& [name, value] : state) {
    if (auto* p = parameters.find(name)) {
      p->copy_(value);
    } else {
      buffers[name].copy_(value);
    }
  }
}

void train_oracle(const OracleTrainingParams& p, const TrainContext& context) {
  const auto& build = context.build;
  const torch::Device device(build.device);
  SequenceData data = load_sequence_data(p.data, build.data_dir, split_part_from(p.part));
  if (p.max_rows > 0 && p.max_rows < data.tokens.size(0)) {
    torch::Tensor keep = std::get<0>(
        torch::randperm(data.tokens.size(0), stream_generator(context.seed, "rows"), torch::kLong)
            .slice(0, 0, p.max_rows)
            .sort());
    data.tokens = data.tokens.index_select(0, keep);
    data.targets = data.targets.index_select(0, keep);
    std::vector<std::string> elements;
    const auto rows = keep.accessor<int64_t, 1>();
    for (int64_t k = 0; k < rows.size(0); ++k) elements.push_back(data.elements[rows[k]]);
    data.elements = elements;
    std::sort(elements.begin(), elements.end());
    data.element_count = std::unique(elements.begin(), elements.end()) - elements.begin();
  }
  const RowSplit split = split_by_element(data.elements, p.validation_fraction, context.seed);
  if (split.train.empty() || split.validation.empty()) {
    throw InputError(fmt::format(
        "sequence.train_oracle: {} rows of part {} leave {} training and {} validation rows; "
        "both must be non-empty",
        data.tokens.size(0), p.part, split.train.size(), split.validation.size()));
  }
  const torch::Tensor x_train = rows_where(data.tokens, split.train);
  const torch::Tensor y_train = rows_where(data.targets, split.train);
  const torch::Tensor x_val = rows_where(data.tokens, split.validation);
  const torch::Tensor y_val = rows_where(data.targets, split.validation);
  const int64_t n = x_train.size(0);
  const double mean = y_train.mean().item<double>(), sd = y_train.std().item<double>();
  svdd::logger("sequence")
      ->info(
          "{}: part {}: {} training rows, {} validation rows ({} elements); target '{}' mean "
          "{:.4g}, "
          "sd {:.4g}",
          data.file.string(), p.part, n, x_val.size(0), split.validation_elements,
          p.data.target_column, mean, sd);

  torch::manual_seed(stream_seed(context.seed, "init", 0));
  OracleNet net(p.network, data.length);
  {
    torch::NoGradGuard no_grad;
    net->target_mean.fill_(mean);
    net->target_std.fill_(sd);
    net->target_min.fill_(y_train.min().item<double>());
  }
  net->to(device);
  OracleResults results;
  results.parameters = net->parameter_count();
  results.train_rows = n;
  results.validation_rows = x_val.size(0);
  const torch::Tensor z_train = ((y_train - mean) / sd).to(torch::kFloat);

  // Validation loss (standardised MSE) and Pearson r.
  auto validate = [&]() {
    net->eval();
    const torch::Tensor pred = predict_tokens(net, x_val, build.chunk_rows, device);
    const double loss = ((pred - y_val) / sd).pow(2).mean().item<double>();
    return std::pair{loss, pearson(pred, y_val)};
  };
  torch::optim::AdamW optimizer(
      net->parameters(), torch::optim::AdamWOptions(p.learning_rate).weight_decay(p.weight_decay));
  EpochLoopOptions loop_options;
  loop_options.epochs = p.epochs;
  loop_options.batch_size = p.batch_size;
  loop_options.learning_rate = p.learning_rate;
  loop_options.seed = context.seed;
  EpochLoop loop(loop_options, training_state(context), net->parameters(), optimizer, n);
  // The best epoch's weights and buffers, in snapshot's order.
  State best = snapshot(net);
  std::vector<torch::Tensor> best_values;
  for (const auto& item : best) best_values.push_back(item.second);
  int64_t stopped_early = 0;
  loop.keep("initial_validation_loss", results.initial_validation_loss);
  loop.keep("train_loss", results.train_loss_per_epoch);
  loop.keep("validation_loss", results.validation_loss_per_epoch);
  loop.keep("validation_pearson", results.validation_pearson_per_epoch);
  loop.keep("best_validation_pearson", results.validation_pearson);
  loop.keep("best_epoch", results.best_epoch);
  loop.keep("epochs", results.epochs);
  loop.keep("stopped_early", stopped_early);
  loop.keep("best", best_values);
  loop.keep_buffers(net->buffers());
  if (loop.restore() == 0) results.initial_validation_loss = validate().first;
  svdd::logger("sequence")
      ->info("oracle: {} parameters; at most {} epochs of {} steps; validation loss {:.4f}",
             results.parameters, p.epochs, (n + p.batch_size - 1) / p.batch_size,
             results.initial_validation_loss);

  EpochLoopHooks hooks;
  hooks.train_mode = [&](bool on) { on ? net->train() : net->eval(); };
  hooks.batch_loss = [&](const torch::Tensor& rows, at::Generator& generator) {
    const torch::Tensor x =
        shifted(letters_one_hot(x_train.index_select(0, rows)), p.shift, generator).to(device);
    const torch::Tensor z = z_train.index_select(0, rows).to(device);
    // Each member regresses the target on its own (an ensemble, not one
    // network of averaged outputs).
    const torch::Tensor outputs = net->member_outputs(x);
    return (outputs - z.unsqueeze(0)).pow(2).mean();
  };
  hooks.end_epoch = [&](int64_t epoch, double train_loss) {
    const auto [validation_loss, validation_r] = validate();
    results.train_loss_per_epoch.push_back(train_loss);
    results.validation_loss_per_epoch.push_back(validation_loss);
    results.validation_pearson_per_epoch.push_back(validation_r);
    results.epochs = epoch + 1;
    const bool better = !std::isnan(validation_r) &&
                        (results.best_epoch == 0 || validation_r > results.validation_pearson);
    if (better) {
      results.validation_pearson = validation_r;
      results.best_epoch = epoch + 1;
      best_values.clear();
      for (const auto& item : snapshot(net)) best_values.push_back(item.second);
    }
    EpochEnd end{fmt::format(", validation loss {:.4f}, r {:.4f}{}", validation_loss, validation_r,
                             better ? " (best)" : "")};
    if (p.patience > 0 && epoch + 1 - results.best_epoch >= p.patience) {
      svdd::logger("sequence")->info("no better validation r for {} epochs: stopping", p.patience);
      stopped_early = 1;
      end.stop = true;
    }
    return end;
  };
  // A resumed run that had stopped early stays stopped.
  if (!stopped_early) results.training_seconds = loop.run(hooks).seconds;
  for (size_t i = 0; i < best.size(); ++i) best[i].second = best_values[i];
  restore(net, best);
  net->eval();

  const SequenceData test = load_sequence_data(p.data, build.data_dir, SplitPart::test);
  const torch::Tensor test_pred = predict_tokens(net, test.tokens, build.chunk_rows, device);
  results.test_rows = test.tokens.size(0);
  results.test_pearson = pearson(test_pred, test.targets);
  results.test_spearman = spearman(test_pred, test.targets);
  svdd::logger("sequence")
      ->info(
          "best epoch {} (validation r {:.4f}); test ({} rows, {} elements): Pearson r {:.4f}, "
          "Spearman {:.4f}; {:.0f} s of training",
          results.best_epoch, results.validation_pearson, results.test_rows, test.element_count,
          results.test_pearson, results.test_spearman, results.training_seconds);

  auto tmp = context.checkpoint;
  tmp += ".tmp";
  {
    torch::serialize::OutputArchive archive;
    net->to(torch::kCPU);
    net->save(archive);
    archive.save_to(tmp.string());
  }
  std::filesystem::rename(tmp, context.checkpoint);
  SequenceDomainCard domain_card{p.data.alphabet, data.length};
  OracleDataCard data_card{p.data.file,
                           data.sha1,
                           p.part,
                           p.data.target_column,
                           data.tokens.size(0),
                           data.element_count,
                           x_val.size(0),
                           split.validation_elements,
                           p.data.split_seed,
                           p.data.test_fraction,
                           p.data.train_a_share,
                           mean,
                           sd,
                           y_train.min().item<double>(),
                           y_train.max().item<double>()};
  OracleNetworkParams network = p.network;
  write_training_card(
      context,
      fmt::format("Card of the activity oracle {} (sequence.train_oracle): predicts '{}'.\n"
                  "Use it with [reward] type = \"sequence.oracle\", checkpoint = \"{}\".\n"
                  "[network] and [domain] are read back to rebuild the network; losses are\n"
                  "mean squared errors of the standardised target; test_* on the test elements.",
                  context.checkpoint.filename().string(), p.data.target_column,
                  context.checkpoint.filename().string()),
      params_section("network", [&](ParamVisitor& v) { network.visit(v); }) +
          params_section("domain", [&](ParamVisitor& v) { domain_card.visit(v); }) +
          params_section("data", [&](ParamVisitor& v) { data_card.visit(v); }) +
          params_section("results", [&](ParamVisitor& v) { results.visit(v); }));
  svdd::logger("sequence")
      ->info("wrote {} and {}", context.checkpoint.string(),
             card_path(context.checkpoint).string());
}

}  // namespace

std::unique_ptr<RewardOracle> load_sequence_oracle(const std::filesystem::path& checkpoint,
                                                   const BuildContext& build,
                                                   const Domain& domain) {
  const torch::Device device(build.device);
  LoadedOracle loaded = load_oracle(checkpoint, device);
  const std::string& expected = letters(loaded.alphabet);
  std::string got;
  for (size_t i = 0; i < std::min<size_t>(4, domain.alphabet.size()); ++i) {
    got += domain.alphabet[i];
  }
  const int64_t length = domain.shape.size() == 1 ? domain.shape[0] : -1;
  if (!domain.discrete() || got != expected || length != loaded.length) {
    throw InputError(fmt::format(
        "sequence.oracle: {} was trained on sequences of letters {} and length {}, but the "
        "run's model '{}' samples letters {} and shape [{}]",
        checkpoint.string(), expected, loaded.length, domain.name, got.empty() ? "(none)" : got,
        fmt::join(domain.shape, ", ")));
  }
  return std::make_unique<SequenceOracle>(std::move(loaded), device, build.chunk_rows);
}

void register_sequence_oracle(Registry& registry) {
  registry.add<svdd::ComponentKind::trainer, OracleTrainingParams>(
      "sequence.train_oracle",
      "trains a CNN activity oracle (sequence.oracle) on a labelled table of sequences",
      train_oracle);
  registry.add<svdd::ComponentKind::reward, OracleParams>(
      "sequence.oracle",
      "predicted activity of a trained CNN oracle (differentiable in probabilities; a sequence "
      "with a mask scores the lowest training target)",
      [](const OracleParams& p, const BuildContext& build, const Domain& domain) {
        return load_sequence_oracle(p.checkpoint.path, build, domain);
      });
}

}  // namespace svdd::sequence
