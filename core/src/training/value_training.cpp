// SVDD-MC value training (Li et al. 2024, arXiv:2408.08252, section 4.2; see
// value_training.hpp): Monte Carlo regression of v_theta(x_t, t) on the
// reward r(x_0) of pretrained rollouts,
//   theta = argmin sum_{rollouts i} sum_{recorded t} (v_theta(x_t^i, t) - r(x_0^i))^2,
// whose minimiser is E[r(x_0) | x_t], the soft value as alpha -> infinity.
#include "svdd/training/value_training.hpp"

#include <c10/core/InferenceMode.h>
#include <fmt/format.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <optional>
#include <sstream>

#include "config/toml_config.hpp"
#include "decoding/chunking.hpp"
#include "io/file_writing.hpp"
#include "svdd/config/experiment.hpp"
#include "svdd/decoding/decoding_loop.hpp"
#include "svdd/error.hpp"
#include "svdd/training/card.hpp"
#include "svdd/training/epoch_loop.hpp"
#include "svdd/training/value_network.hpp"
#include "svdd/util/clock.hpp"
#include "svdd/util/log.hpp"
#include "svdd/util/seeding.hpp"
#include "training/value_rollouts.hpp"

namespace svdd {
namespace {

struct ValueTrainingParams {
  ComponentSpec model, reward;
  int64_t rollouts = 2000;
  int64_t batch_size = 250;
  int64_t states_per_rollout = 0;
  int64_t label_rollouts = 1;
  double label_alpha = 0.0;
  int64_t epochs = 20;
  double learning_rate = 1e-3;
  double weight_decay = 0.0;
  int64_t batch_rows = 512;
  double holdout_fraction = 0.1;
  int64_t time_buckets = 5;
  int64_t patience = 0;
  FilePath warm_start;
  ComponentSpec network{"mlp", nullptr};

  void visit(ParamVisitor& v) {
    v.field("model", model,
            "the pretrained model to roll out, as a run file's [model] (must match the model "
            "the value is used with)");
    v.require(!model.type.empty(), "model", "missing: give [training.model] with a type");
    v.field("reward", reward, "the reward whose value is learnt, as a run file's [reward]");
    v.require(!reward.type.empty(), "reward", "missing: give [training.reward] with a type");
    v.field("rollouts", rollouts, "pretrained rollouts to label with their reward");
    v.require(rollouts >= 2, "rollouts", "must be at least 2 (some are held out)");
    v.field("batch_size", batch_size, "rollouts sampled together");
    v.at_least("batch_size", batch_size, 1);
    v.field("states_per_rollout", states_per_rollout,
            "states x_t kept per rollout, at steps drawn uniformly without replacement; 0 keeps "
            "all T (bounds memory for large models)");
    v.non_negative("states_per_rollout", states_per_rollout);
    v.field("label_rollouts", label_rollouts,
            "K: rollouts per training state; K > 1 continues each state K - 1 more times to x_0 "
            "and labels it with their soft value (less label noise, (K - 1) * t denoiser rows per "
            "state at step t); held-out states keep their own rollout's reward");
    v.at_least("label_rollouts", label_rollouts, 1);
    v.field("label_alpha", label_alpha,
            "label_rollouts > 1: 0 labels with the mean reward of the K rollouts (E[r | x_t]); "
            "alpha > 0 with alpha * log mean exp(r / alpha)");
    v.non_negative("label_alpha", label_alpha);
    v.field("epochs", epochs, "passes over the training states (may grow on --resume)");
    v.at_least("epochs", epochs, 1);
    v.field("learning_rate", learning_rate, "Adam's learning rate (constant)");
    v.positive("learning_rate", learning_rate);
    v.field("weight_decay", weight_decay, "Adam's L2 weight decay");
    v.non_negative("weight_decay", weight_decay);
    v.field("batch_rows", batch_rows, "states per gradient step");
    v.at_least("batch_rows", batch_rows, 1);
    v.field("holdout_fraction", holdout_fraction,
            "share of rollouts (with all their states) held out to measure the fit");
    v.in_open_range("holdout_fraction", holdout_fraction, 0, 1);
    v.field("time_buckets", time_buckets,
            "equal ranges of steps over which the held-out correlation is reported");
    v.at_least("time_buckets", time_buckets, 1);
    v.field("patience", patience,
            "early stopping: end training after this many epochs without a lower held-out "
            "loss, and keep the weights of the epoch with the lowest; 0 trains every epoch and "
            "keeps the last");
    v.non_negative("patience", patience);
    v.field("warm_start", warm_start,
            "a checkpoint (e.g. the pretrained denoiser's) whose tensors initialise every "
            "parameter of the network with the same name and shape; the card reports how many");
    v.field("network", network,
            "the architecture, a registered value network (`svdd list`): \"mlp\" (core, any "
            "domain) or a plugin's, e.g. { type = \"sequence.dilated_conv\", channels = 64 }");
  }
};

std::filesystem::path beside(const std::filesystem::path& checkpoint, const std::string& suffix) {
  std::filesystem::path p = checkpoint;
  return p.replace_extension(suffix);
}

double pearson(const torch::Tensor& a, const torch::Tensor& b) {
  if (a.numel() < 2) return NAN;
  torch::Tensor x = a.to(torch::kDouble) - a.to(torch::kDouble).mean();
  torch::Tensor y = b.to(torch::kDouble) - b.to(torch::kDouble).mean();
  const double denominator = std::sqrt((x * x).sum().item<double>() * (y * y).sum().item<double>());
  return denominator > 0 ? (x * y).sum().item<double>() / denominator : NAN;
}

// ---------------------------------------------------------------------------
// Fitting and evaluation.

torch::Tensor predict_all(ValueNetwork& network, const Split& s, int64_t chunk_rows) {
  torch::NoGradGuard no_grad;
  network.train(false);
  return map_row_chunks(s.size(), chunk_rows, [&](int64_t b, int64_t e) {
    return network.predict(s.x.slice(0, b, e), s.steps.slice(0, b, e))
        .to(torch::kCPU, torch::kDouble);
  });
}

double mse(const torch::Tensor& prediction, const torch::Tensor& target) {
  return (prediction - target.to(torch::kDouble)).pow(2).mean().item<double>();
}

std::vector<ValueBucketReport> bucket_reports(const torch::Tensor& prediction, const Split& held,
                                              int steps, int64_t buckets) {
  // Step s in [1, T] falls in bucket floor((s - 1) * buckets / T).
  torch::Tensor bucket = ((held.steps - 1) * buckets).div(steps, "floor");
  std::vector<ValueBucketReport> out;
  for (int64_t b = 0; b < buckets; ++b) {
    ValueBucketReport r;
    r.first_step = b * steps / buckets + 1;
    r.last_step = (b + 1) * steps / buckets;
    torch::Tensor in = bucket.eq(b);
    torch::Tensor p = prediction.masked_select(in), y = held.target.masked_select(in);
    r.states = p.numel();
    if (r.states > 0) r.mse = mse(p, y);
    r.correlation = pearson(p, y);
    out.push_back(r);
  }
  return out;
}

// The effective table of a nested component, for the fingerprint.
std::string effective_text(const Registry& registry, ComponentKind kind, const std::string& name,
                           const ComponentSpec& spec) {
  toml::table t = toml::parse(registry.effective_toml(kind, spec));
  t.insert_or_assign("type", spec.type);
  return section_text({name}, t);
}

// Refuses settings that do not fit the model's steps; the number of
// held-out rollouts.
int64_t heldout_rollouts(const ValueTrainingParams& p, int steps, const TrainContext& context) {
  auto refuse = [&](const std::string& key, const std::string& message) {
    const std::string where =
        context.locate ? context.locate("training." + key) : context.training_file.string();
    throw InputError(fmt::format("{}: [training] {}: {}", where, key, message));
  };
  if (p.time_buckets > steps) {
    refuse("time_buckets", fmt::format("must be at most the model's steps ({})", steps));
  }
  if (p.states_per_rollout > steps) {
    refuse("states_per_rollout",
           fmt::format("must be at most the model's steps ({}), or 0 for all of them", steps));
  }
  const int64_t held_rollouts =
      std::max<int64_t>(1, std::llround(p.holdout_fraction * double(p.rollouts)));
  if (held_rollouts >= p.rollouts) {
    refuse("holdout_fraction", fmt::format("holds out all {} rollouts", p.rollouts));
  }
  return held_rollouts;
}

// The labelled rollouts: reloaded when the file beside the checkpoint holds
// those of the same model, reward, plan and seed (a resume, or another
// architecture or fit of the same data), else sampled and saved.
Rollouts labelled_rollouts(const ValueTrainingParams& p, const TrainContext& context,
                           const std::string& fingerprint, int64_t held_rollouts,
                           DiffusionModel& model, RewardOracle& reward,
                           ValueTrainingReport& report) {
  const auto file = beside(context.checkpoint, ".rollouts.pt");
  if (std::filesystem::exists(file)) {
    if (std::optional<Rollouts> loaded = load_rollouts(file, fingerprint)) {
      logger("train")->info("loaded {} states of {} rollouts from {}", loaded->states.size(0),
                            loaded->rewards.size(0), file.string());
      return *loaded;
    }
    std::filesystem::remove(file);
  }
  const auto start = std::chrono::steady_clock::now();
  Cost cost;
  auto checked = counted(reward, model.domain(), cost, context.build.chunk_rows, p.reward.type);
  Rollouts rollouts =
      roll_out(model, *checked, {p.rollouts, p.batch_size, p.states_per_rollout}, context.seed);
  if (p.label_rollouts > 1) {
    // Only the training states: the held-out ones measure against the
    // realised reward.
    const torch::Tensor training_rows =
        heldout_rollout_mask(p.rollouts, held_rollouts, context.seed)
            .index_select(0, rollouts.rollout)
            .logical_not()
            .nonzero()
            .squeeze(1);
    label_with_continuations(model, *checked, rollouts, training_rows,
                             {p.label_rollouts, p.label_alpha, p.batch_size, context.build.device},
                             context.seed);
  }
  report.rollout_seconds = seconds_since(start);
  save_rollouts(rollouts, file, fingerprint);
  return rollouts;
}

// The held-out correlation, overall and per bucket of steps, logged.
void evaluate_heldout(ValueNetwork& network, const Split& held, int steps, int64_t buckets,
                      int64_t chunk_rows, ValueTrainingReport& report) {
  const torch::Tensor prediction = predict_all(network, held, chunk_rows);
  report.heldout_correlation = pearson(prediction, held.target);
  report.buckets = bucket_reports(prediction, held, steps, buckets);
  logger("train")->info(
      "held-out correlation of predicted value and realised reward: {:.3f} overall",
      report.heldout_correlation);
  for (const auto& b : report.buckets) {
    logger("train")->info("  steps {:>4}-{:<4} {:>8} states  correlation {:.3f}  mse {:.4g}",
                          b.first_step, b.last_step, b.states, b.correlation, b.mse);
  }
}

// The reference every learned value is measured against: SVDD-PM's value
// r(x0_hat(x_t)) on the same held-out states, its Pearson correlation with
// the realised reward overall and per bucket (logged). Costs one denoiser
// row and one reward call per held-out state.
void evaluate_posterior_mean(const Registry& registry, DiffusionModel& model, RewardOracle& reward,
                             const Split& held, int steps, int64_t buckets,
                             const TrainContext& context, ValueTrainingReport& report) {
  c10::InferenceMode guard;
  auto estimator =
      registry.make<ComponentKind::value>(parse_component("type = \"posterior_mean\"", "reference"),
                                          ValueDeps{model, reward, 0.0, context.build});
  at::Generator generator = stream_generator(context.seed, "reference");
  torch::Tensor values = torch::empty({held.size()}, torch::kDouble);
  const int64_t chunk_rows = context.build.chunk_rows;
  for (int step = 1; step <= steps; ++step) {
    const torch::Tensor rows = held.steps.eq(step).nonzero().squeeze(1);
    if (rows.numel() == 0) continue;
    const torch::Tensor x = held.x.index_select(0, rows).to(context.build.device);
    values.index_copy_(0, rows, map_row_chunks(x.size(0), chunk_rows, [&](int64_t b, int64_t e) {
                         return estimator->value(x.slice(0, b, e), step, generator)
                             .to(torch::kCPU, torch::kDouble);
                       }));
  }
  report.posterior_mean_correlation = pearson(values, held.target);
  logger("train")->info(
      "reference: SVDD-PM's value r(x0_hat(x_t)) on the same held-out states: correlation "
      "{:.3f} overall",
      report.posterior_mean_correlation);
  for (const auto& b : bucket_reports(values, held, steps, buckets)) {
    logger("train")->info("  steps {:>4}-{:<4} correlation {:.3f}", b.first_step, b.last_step,
                          b.correlation);
  }
}

// Writes the checkpoint and its card.
void write_value_network(const TrainContext& context, const ValueNetwork& network,
                         const ValueTrainingReport& report) {
  write_atomically(context.checkpoint, [&](const auto& tmp) { network.save(tmp); });
  const std::string name = context.checkpoint.filename().string();
  write_training_card(
      context,
      fmt::format("Card of the SVDD-MC value network {}: what it was trained for ([domain],\n"
                  "[network], checked before use) and how well it predicts the reward of\n"
                  "held-out rollouts ([results]; losses are mean squared errors in reward\n"
                  "units, buckets are ranges of steps). [config.*] is the effective training\n"
                  "configuration. Use it with value = {{ type = \"learned\", checkpoint = "
                  "\"{}\" }}.",
                  name, name),
      network.card_toml() + "\n" + value_results_toml(network.parameter_count(), report));
  logger("train")->info("wrote {} and {}", context.checkpoint.string(), report.card.string());
}

// Fits v(x_t, t) by mean squared error on the standardised reward, with a
// constant learning rate; fills the report's losses. With patience > 0 it
// stops after that many epochs without a lower held-out loss and leaves the
// weights of the best epoch in the network (kept in the resume state).
void fit(ValueNetwork& network, const Split& train, const Split& held, double scale,
         const ValueTrainingParams& p, const TrainContext& context, const TrainingState& state,
         ValueTrainingReport& report) {
  const std::string device = context.build.device;
  const int64_t chunk_rows = context.build.chunk_rows;
  torch::optim::Adam optimizer(
      network.parameters(),
      torch::optim::AdamOptions(p.learning_rate).weight_decay(p.weight_decay));
  EpochLoopOptions options;
  options.epochs = p.epochs;
  options.batch_size = p.batch_rows;
  options.learning_rate = p.learning_rate;
  options.cosine = false;
  options.seed = context.seed;
  EpochLoop loop(options, state, network.parameters(), optimizer, train.size());
  loop.keep("initial_heldout_loss", report.initial_heldout_loss);
  loop.keep("train_loss", report.train_loss);
  loop.keep("heldout_loss", report.heldout_loss);
  loop.keep("best_epoch", report.best_epoch);
  std::vector<torch::Tensor> best;  // parameters, then buffers, of the best epoch
  if (p.patience > 0) loop.keep("best_weights", best);
  loop.keep_buffers(network.buffers());
  report.first_epoch = loop.restore();
  if (report.first_epoch == 0) {
    report.initial_heldout_loss = mse(predict_all(network, held, chunk_rows), held.target);
  }
  logger("train")->info(
      "network '{}': {} parameters; held-out loss before training {:.4g} (reward variance "
      "{:.4g})",
      network.architecture(), network.parameter_count(), report.initial_heldout_loss,
      report.heldout_variance);
  auto state_tensors = [&] {
    std::vector<torch::Tensor> all = network.parameters();
    for (const auto& b : network.buffers()) all.push_back(b);
    return all;
  };
  // The MSE of the standardised target: well scaled for Adam whatever the
  // reward's units; the losses reported are in reward units.
  const double inverse_variance = 1.0 / (scale * scale);
  EpochLoopHooks hooks;
  hooks.train_mode = [&](bool on) { network.train(on); };
  hooks.batch_loss = [&](const torch::Tensor& rows, at::Generator&) {
    torch::Tensor x = train.x.index_select(0, rows).to(device);
    torch::Tensor steps = train.steps.index_select(0, rows).to(device);
    torch::Tensor target = train.target.index_select(0, rows).to(device);
    return torch::mse_loss(network.predict(x, steps), target) * inverse_variance;
  };
  hooks.end_epoch = [&](int64_t epoch, double train_loss) {
    const double held_loss = mse(predict_all(network, held, chunk_rows), held.target);
    report.train_loss.push_back(train_loss * scale * scale);
    report.heldout_loss.push_back(held_loss);
    EpochEnd end;
    if (p.patience == 0) {
      report.best_epoch = epoch + 1;
    } else if (report.best_epoch == 0 || held_loss < report.heldout_loss[report.best_epoch - 1]) {
      report.best_epoch = epoch + 1;
      best.clear();
      for (const auto& t : state_tensors()) best.push_back(t.detach().clone());
    } else if (epoch + 1 - report.best_epoch >= p.patience) {
      end.stop = true;
    }
    end.log = fmt::format(
        " (standardised; {:.4g} in reward units), held-out loss {:.4g} "
        "(R^2 {:.3f}){}",
        report.train_loss.back(), held_loss, 1.0 - held_loss / report.heldout_variance,
        end.stop ? fmt::format("; no better than epoch {} for {} epochs: stopping",
                               report.best_epoch, p.patience)
                 : "");
    return end;
  };
  const EpochLoopResult result = loop.run(hooks);
  report.training_seconds = result.seconds;
  report.epochs = result.epochs;
  if (p.patience > 0 && !best.empty()) {
    torch::NoGradGuard no_grad;
    auto current = state_tensors();
    for (size_t i = 0; i < current.size() && i < best.size(); ++i) current[i].copy_(best[i]);
    logger("train")->info("kept the weights of epoch {} (lowest held-out loss {:.4g})",
                          report.best_epoch, report.heldout_loss[report.best_epoch - 1]);
  }
}

void train_value(const ValueTrainingParams& p, const TrainContext& context) {
  if (!context.registry) throw RuntimeFailure("value_network: the TrainContext has no registry");
  const Registry& registry = *context.registry;
  auto model = registry.make<ComponentKind::model>(p.model, context.build);
  auto reward = registry.make<ComponentKind::reward>(p.reward, context.build, model->domain());
  const int steps = model->num_steps();
  const int64_t held_rollouts = heldout_rollouts(p, steps, context);
  // The learning rate is constant, so more epochs continue the same run.
  const std::string components =
      effective_text(registry, ComponentKind::model, "model", p.model) +
      effective_text(registry, ComponentKind::reward, "reward", p.reward);
  const TrainingState state = training_state(context, {"epochs"}, components);
  // What the rollouts depend on: not the network or its fit.
  const std::string rollouts_fingerprint =
      components +
      fmt::format(
          "rollouts = {}\nbatch_size = {}\nstates_per_rollout = {}\nseed = {}\n"
          "device = \"{}\"\n",
          p.rollouts, p.batch_size, p.states_per_rollout, context.seed, context.build.device) +
      (p.label_rollouts > 1
           ? fmt::format("label_rollouts = {}\nlabel_alpha = {}\n", p.label_rollouts, p.label_alpha)
           : "");
  check_training_state(state);  // refuses another configuration before any sampling
  if (!context.resume && std::filesystem::exists(context.checkpoint)) {
    logger("train")->warn("replacing {} and its card (continue a training with --resume instead)",
                          context.checkpoint.string());
  }
  logger("train")->info("training a value network for {} ({} steps)", p.model.type, steps);

  ValueTrainingReport report;
  report.checkpoint = context.checkpoint;
  report.card = card_path(context.checkpoint);
  const Rollouts rollouts =
      labelled_rollouts(p, context, rollouts_fingerprint, held_rollouts, *model, *reward, report);
  const auto [train, held] = split_by_rollout(rollouts, p.rollouts, held_rollouts, context.seed);
  report.train_rollouts = train.rollouts;
  report.heldout_rollouts = held.rollouts;
  report.train_states = train.size();
  report.heldout_states = held.size();

  const double mean = train.target.to(torch::kDouble).mean().item<double>();
  const double spread = train.target.to(torch::kDouble).std().item<double>();
  const double scale = spread > 1e-12 ? spread : 1.0;
  if (spread <= 1e-12) {
    logger("train")->warn(
        "every training rollout has the same reward {}: the value network can only "
        "predict that constant",
        mean);
  }
  report.heldout_variance = mse(torch::full({held.size()}, mean, torch::kDouble), held.target);
  logger("train")->info(
      "{} training states ({} rollouts), {} held out ({} rollouts); reward mean {:.4g}, std "
      "{:.4g}",
      train.size(), train.rollouts, held.size(), held.rollouts, mean, spread);

  at::Generator init = stream_generator(context.seed, "init");
  ValueNetwork network(registry, p.network, model->domain(), steps, init);
  if (!p.warm_start.path.empty()) {
    const auto [copied, parameters] = network.warm_start(p.warm_start.path);
    report.warm_started = copied;
    logger("train")->info("warm start from {}: {} of {} parameter tensors copied",
                          p.warm_start.path.string(), copied, parameters);
    if (copied == 0) {
      logger("train")->warn(
          "warm start {}: no tensor has the name and shape of one of the network's",
          p.warm_start.path.string());
    }
  }
  network.set_target_scale(mean, scale);
  network.to(context.build.device);
  fit(network, train, held, scale, p, context, state, report);
  evaluate_heldout(network, held, steps, p.time_buckets, context.build.chunk_rows, report);
  evaluate_posterior_mean(registry, *model, *reward, held, steps, p.time_buckets, context, report);
  write_value_network(context, network, report);
}

}  // namespace

void register_value_training(Registry& registry) {
  registry.add<ComponentKind::trainer, ValueTrainingParams>(
      "value_network",
      "fits an SVDD-MC value network v(x_t, t) to the rewards of pretrained rollouts of "
      "[training.model] scored by [training.reward]; use it with value = { type = \"learned\" }",
      train_value);
}

}  // namespace svdd
