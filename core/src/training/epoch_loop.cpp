// The epoch loop of every trainer and its resume state (epoch_loop.hpp).
#include "svdd/training/epoch_loop.hpp"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Context.h>
#include <fmt/format.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <sstream>

#include "config/toml_config.hpp"
#include "io/file_writing.hpp"
#include "svdd/error.hpp"
#include "svdd/trainer.hpp"
#include "svdd/training/optimizer_step.hpp"
#include "svdd/util/clock.hpp"
#include "svdd/util/log.hpp"
#include "svdd/util/seeding.hpp"
#include "svdd/util/stop_signals.hpp"

namespace svdd {
namespace {

// The default generators whose draws (dropout, say) a resumed run must
// continue: the CPU one, and the CUDA one when libtorch has CUDA.
std::vector<at::Generator> default_generators() {
  std::vector<at::Generator> out{at::detail::getDefaultCPUGenerator()};
  if (at::hasCUDA()) out.push_back(at::globalContext().defaultGenerator(at::Device(at::kCUDA)));
  return out;
}

// The saved state of `state.file`, after checking it continues this
// configuration.
torch::serialize::InputArchive open_state(const TrainingState& state, const torch::Device& device) {
  const auto& file = state.file;
  if (!std::filesystem::exists(file)) {
    throw InputError(
        fmt::format("--resume: no training state {} to continue (train without --resume to start)",
                    file.string()));
  }
  torch::serialize::InputArchive archive;
  std::string saved_text;
  try {
    archive.load_from(file.string(), device);
    torch::Tensor saved;
    archive.read("fingerprint", saved);
    saved_text = tensor_text(saved);
  } catch (const c10::Error& e) {
    throw InputError(fmt::format("--resume: cannot read the training state {}: {}", file.string(),
                                 e.what_without_backtrace()));
  }
  if (saved_text != state.fingerprint) {
    std::string difference;
    try {
      difference = first_toml_difference(saved_text, state.fingerprint);
    } catch (const std::exception&) {
      difference = "an older state format";
    }
    throw InputError(fmt::format(
        "--resume: {} was trained with another configuration ({}); {} on resume", file.string(),
        difference.empty() ? "another kind" : difference,
        state.may_change.empty() ? "nothing may change"
                                 : fmt::format("only {} may change", state.may_change)));
  }
  return archive;
}

}  // namespace

void check_training_state(const TrainingState& state) {
  if (state.resume) open_state(state, torch::kCPU);
}

TrainingState training_state(const TrainContext& context,
                             const std::vector<std::string>& may_change, const std::string& extra) {
  TrainingState state;
  state.file = resume_state_path(context.checkpoint);
  state.resume = context.resume;
  state.stop_after_epoch = context.stop_after_epoch;
  toml::table fingerprint = toml::parse(context.fingerprint_toml);
  std::vector<std::string> keys{"experiment.threads"};
  if (toml::table* training = fingerprint["training"].as_table()) {
    for (const auto& key : may_change) {
      training->erase(key);
      keys.push_back("training." + key);
    }
  }
  std::ostringstream text;
  text << fingerprint;
  state.fingerprint = text.str() + "\n" + extra;
  state.may_change = fmt::format("{}", fmt::join(keys, " and "));
  return state;
}

struct EpochLoop::Impl {
  EpochLoopOptions options;
  TrainingState state;
  std::vector<torch::Tensor> weights;
  torch::optim::Optimizer& optimizer;
  int64_t rows = 0;
  std::vector<torch::Tensor> ema, buffers;
  int64_t epoch = 0, step = 0;
  bool restored = false;
  std::map<std::string, std::vector<double>*> series;
  std::map<std::string, double*> doubles;
  std::map<std::string, int64_t*> integers;
  std::map<std::string, std::vector<torch::Tensor>*> tensors;

  Impl(EpochLoopOptions o, TrainingState s, std::vector<torch::Tensor> w,
       torch::optim::Optimizer& opt, int64_t n)
      : options(std::move(o)), state(std::move(s)), weights(std::move(w)), optimizer(opt), rows(n) {
    if (options.ema_decay > 0) {
      for (const auto& weight : weights) ema.push_back(weight.detach().clone());
    }
  }

  // Swaps the values of the network's weights and the average (same shapes).
  void swap_average() {
    torch::NoGradGuard no_grad;
    for (size_t i = 0; i < weights.size(); ++i) {
      torch::Tensor kept = weights[i].detach().clone();
      weights[i].detach().copy_(ema[i]);
      ema[i] = kept;
    }
  }

  static void write_list(torch::serialize::OutputArchive& archive, const std::string& prefix,
                         const std::vector<torch::Tensor>& list) {
    archive.write(prefix + "/count", torch::tensor(int64_t(list.size()), torch::kLong));
    for (size_t i = 0; i < list.size(); ++i) {
      archive.write(fmt::format("{}/{}", prefix, i), list[i].detach());
    }
  }

  static std::vector<torch::Tensor> read_list(torch::serialize::InputArchive& archive,
                                              const std::string& prefix) {
    torch::Tensor count;
    archive.read(prefix + "/count", count);
    std::vector<torch::Tensor> list(count.item<int64_t>());
    for (size_t i = 0; i < list.size(); ++i) archive.read(fmt::format("{}/{}", prefix, i), list[i]);
    return list;
  }

  void save() {
    if (state.file.empty()) return;
    write_atomically(state.file, [&](const std::filesystem::path& tmp) {
      torch::serialize::OutputArchive archive;
      archive.write("fingerprint", text_tensor(state.fingerprint));
      archive.write("epoch", torch::tensor(epoch, torch::kLong));
      archive.write("step", torch::tensor(step, torch::kLong));
      write_list(archive, "weights", weights);
      write_list(archive, "ema", ema);
      write_list(archive, "buffers", buffers);
      std::vector<torch::Tensor> generators;
      for (auto& g : default_generators()) generators.push_back(g.get_state());
      write_list(archive, "generators", generators);
      torch::serialize::OutputArchive optimizer_archive;
      optimizer.save(optimizer_archive);
      archive.write("optimizer", optimizer_archive);
      for (auto& [name, s] : series) {
        archive.write("series/" + name, torch::tensor(*s, torch::kDouble));
      }
      for (auto& [name, d] : doubles)
        archive.write("double/" + name, torch::tensor(*d, torch::kDouble));
      for (auto& [name, i] : integers)
        archive.write("int/" + name, torch::tensor(*i, torch::kLong));
      for (auto& [name, t] : tensors) write_list(archive, "tensors/" + name, *t);
      archive.save_to(tmp.string());
    });
  }

  void load() {
    const auto& file = state.file;
    const torch::Device device = weights.empty() ? torch::kCPU : weights.front().device();
    torch::serialize::InputArchive archive = open_state(state, device);
    // A fresh tensor per key: reading into a defined tensor keeps its dtype.
    auto read = [&](const std::string& key) {
      torch::Tensor t;
      archive.read(key, t);
      return t.to(torch::kCPU);
    };
    try {
      epoch = read("epoch").item<int64_t>();
      step = read("step").item<int64_t>();
      torch::NoGradGuard no_grad;
      const auto saved_weights = read_list(archive, "weights");
      if (saved_weights.size() != weights.size()) {
        throw InputError(fmt::format("--resume: {} holds {} weight tensors, the network {}",
                                     file.string(), saved_weights.size(), weights.size()));
      }
      for (size_t i = 0; i < weights.size(); ++i) weights[i].detach().copy_(saved_weights[i]);
      ema = read_list(archive, "ema");
      const auto saved_buffers = read_list(archive, "buffers");
      if (saved_buffers.size() != buffers.size()) {
        throw InputError(fmt::format("--resume: {} holds {} buffers, the network {}", file.string(),
                                     saved_buffers.size(), buffers.size()));
      }
      for (size_t i = 0; i < buffers.size(); ++i) buffers[i].copy_(saved_buffers[i]);
      const auto generator_states = read_list(archive, "generators");
      auto generators = default_generators();
      for (size_t i = 0; i < std::min(generators.size(), generator_states.size()); ++i) {
        generators[i].set_state(generator_states[i].to(torch::kCPU));
      }
      torch::serialize::InputArchive optimizer_archive;
      archive.read("optimizer", optimizer_archive);
      optimizer.load(optimizer_archive);
      for (auto& [name, s] : series) {
        const torch::Tensor t = read("series/" + name).to(torch::kDouble).contiguous();
        s->assign(t.data_ptr<double>(), t.data_ptr<double>() + t.numel());
      }
      for (auto& [name, d] : doubles) *d = read("double/" + name).item<double>();
      for (auto& [name, i] : integers) *i = read("int/" + name).item<int64_t>();
      for (auto& [name, list] : tensors) *list = read_list(archive, "tensors/" + name);
    } catch (const c10::Error& e) {
      throw InputError(fmt::format("--resume: cannot read the training state {}: {}", file.string(),
                                   e.what_without_backtrace()));
    }
  }
};

EpochLoop::EpochLoop(EpochLoopOptions options, TrainingState state, std::vector<at::Tensor> weights,
                     torch::optim::Optimizer& optimizer, int64_t rows)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(state), std::move(weights),
                                   optimizer, rows)) {}

EpochLoop::~EpochLoop() = default;

void EpochLoop::keep(const std::string& name, std::vector<double>& series) {
  impl_->series[name] = &series;
}
void EpochLoop::keep(const std::string& name, double& value) { impl_->doubles[name] = &value; }
void EpochLoop::keep(const std::string& name, int64_t& value) { impl_->integers[name] = &value; }
void EpochLoop::keep(const std::string& name, std::vector<at::Tensor>& tensors) {
  impl_->tensors[name] = &tensors;
}

void EpochLoop::keep_buffers(std::vector<at::Tensor> buffers) {
  impl_->buffers = std::move(buffers);
}

int64_t EpochLoop::restore() {
  if (!impl_->restored) {
    impl_->restored = true;
    if (impl_->state.resume) {
      impl_->load();
      logger("train")->info("resuming after epoch {} of {} ({})", impl_->epoch,
                            impl_->options.epochs, impl_->state.file.string());
    } else if (!impl_->state.file.empty()) {
      std::filesystem::remove(impl_->state.file);
    }
  }
  return impl_->epoch;
}

EpochLoopResult EpochLoop::run(const EpochLoopHooks& hooks) {
  auto& s = *impl_;
  const auto& o = s.options;
  EpochLoopResult result;
  result.first_epoch = restore();
  const int64_t n = s.rows;
  const int64_t steps_per_epoch = (n + o.batch_size - 1) / o.batch_size;
  const int64_t total_steps = steps_per_epoch * o.epochs;
  const auto start = std::chrono::steady_clock::now();
  while (s.epoch < o.epochs) {
    const int64_t epoch = s.epoch;
    if (hooks.train_mode) hooks.train_mode(true);
    at::Generator generator = stream_generator(o.seed, "epoch", epoch);
    torch::Tensor order = torch::randperm(n, generator, torch::kLong);
    double epoch_loss = 0;
    for (int64_t b = 0; b < n; b += o.batch_size, ++s.step) {
      const int64_t step = s.step;
      if (const int signal = stop_requested()) {
        throw Stopped(signal,
                      fmt::format("stopped by {} in epoch {} of {}: {}", signal_name(signal),
                                  epoch + 1, o.epochs,
                                  epoch > 0 ? fmt::format("{} holds the state after epoch {}; "
                                                          "continue with --resume",
                                                          s.state.file.string(), epoch)
                                            : std::string("no epoch had finished, so nothing is "
                                                          "kept")));
      }
      torch::Tensor rows = order.slice(0, b, std::min(n, b + o.batch_size));
      torch::Tensor loss = hooks.batch_loss(rows, generator);
      double learning_rate = o.learning_rate;
      if (o.cosine) {
        const double warm =
            o.warmup_steps > 0 ? std::min(1.0, double(step + 1) / o.warmup_steps) : 1.0;
        learning_rate = cosine_learning_rate(o.learning_rate * warm, step, total_steps);
      }
      // Read once: each read waits for the device. A non-finite loss (a NaN
      // label, a learning rate that diverged) would make every weight NaN
      // at this step and the checkpoint with them.
      const double loss_value = loss.item<double>();
      if (!std::isfinite(loss_value)) {
        throw RuntimeFailure(fmt::format(
            "training stopped: the loss is {} at epoch {}, step {} (learning rate {:.3g}); no "
            "checkpoint written (a lower learning_rate or a clip_norm may help)",
            loss_value, epoch + 1, step + 1, learning_rate));
      }
      optimizer_step(s.optimizer, loss, learning_rate, o.clip_norm);
      if (o.ema_decay > 0) {
        torch::NoGradGuard no_grad;
        // Early on the average would be dominated by the random initial
        // weights; the usual warm-up of the decay, min(d, (1+k)/(10+k)).
        const double d = std::min(o.ema_decay, double(1 + step) / double(10 + step));
        for (size_t i = 0; i < s.weights.size(); ++i) {
          s.ema[i].mul_(d).add_(s.weights[i].detach(), 1 - d);
        }
      }
      epoch_loss += loss_value * double(rows.size(0));
      if (o.log_every > 0 && (step + 1) % o.log_every == 0) {
        logger("train")->info("  epoch {} step {}/{}: loss {:.4f}{} ({:.0f} s)", epoch + 1,
                              step + 1, total_steps, loss_value, o.loss_unit, seconds_since(start));
      }
    }
    const EpochEnd end = hooks.end_epoch(epoch, epoch_loss / double(n));
    s.epoch = epoch + 1;
    s.save();
    logger("train")->info("epoch {}/{}: train loss {:.4f}{}{} ({:.1f} s)", epoch + 1, o.epochs,
                          epoch_loss / double(n), o.loss_unit, end.log, seconds_since(start));
    if (end.stop) break;
    if (s.state.stop_after_epoch > 0 && s.epoch >= s.state.stop_after_epoch && s.epoch < o.epochs) {
      throw TrainingStopped(fmt::format(
          "stopped after epoch {} of {} as asked; the state is in {} (continue with --resume)",
          s.epoch, o.epochs, s.state.file.string()));
    }
  }
  result.epochs = s.epoch;
  result.steps = s.step;
  result.seconds = seconds_since(start);
  return result;
}

void EpochLoop::with_average(const std::function<void()>& f) {
  if (impl_->ema.empty()) return f();
  impl_->swap_average();
  try {
    f();
  } catch (...) {
    impl_->swap_average();
    throw;
  }
  impl_->swap_average();
}

void EpochLoop::use_average() {
  if (!impl_->ema.empty()) impl_->swap_average();
}

at::Tensor text_tensor(const std::string& text) {
  return torch::from_blob(const_cast<char*>(text.data()), {static_cast<int64_t>(text.size())},
                          torch::kUInt8)
      .clone();
}

std::string tensor_text(const at::Tensor& bytes) {
  torch::Tensor contiguous = bytes.to(torch::kCPU).contiguous();
  return std::string(reinterpret_cast<const char*>(contiguous.data_ptr<uint8_t>()),
                     contiguous.numel());
}

}  // namespace svdd
