// SVDD-MC value training (Li et al. 2024, arXiv:2408.08252, section 4.2; see
// value_training.hpp): Monte Carlo regression of v_theta(x_t, t) on the
// reward r(x_0) of pretrained rollouts,
//   theta = argmin sum_{rollouts i} sum_{recorded t} (v_theta(x_t^i, t) - r(x_0^i))^2,
// whose minimiser is E[r(x_0) | x_t], the soft value as alpha -> infinity.
#include "svdd/training/value_training.hpp"

#include <ATen/Parallel.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <thread>

#include "config/toml_config.hpp"
#include "decoding/chunking.hpp"
#include "io/file_writing.hpp"
#include "svdd/config/experiment.hpp"
#include "svdd/decoding/decoding_loop.hpp"
#include "svdd/error.hpp"
#include "svdd/training/value_network.hpp"
#include "svdd/util/seeding.hpp"
#include "svdd/version.hpp"

namespace svdd {
namespace {

struct ValueTrainingParams {
  int64_t rollouts = 2000;
  int64_t batch_size = 250;
  int64_t states_per_rollout = 0;
  int64_t epochs = 20;
  double learning_rate = 1e-3;
  double weight_decay = 0.0;
  int64_t batch_rows = 512;
  double holdout_fraction = 0.1;
  int64_t time_buckets = 5;
  std::string output;
  ValueNetworkParams network;

  void visit(ParamVisitor& v) {
    v.field("rollouts", rollouts, "pretrained rollouts to label with their reward");
    v.require(rollouts >= 2, "rollouts", "must be at least 2 (some are held out)");
    v.field("batch_size", batch_size, "rollouts sampled together");
    v.require(batch_size >= 1, "batch_size", "must be at least 1");
    v.field("states_per_rollout", states_per_rollout,
            "states x_t kept per rollout, at steps drawn uniformly without replacement; 0 keeps "
            "all T (bounds memory for large models)");
    v.require(states_per_rollout >= 0, "states_per_rollout", "must be >= 0");
    v.field("epochs", epochs, "passes over the training states (may grow on --resume)");
    v.require(epochs >= 1, "epochs", "must be at least 1");
    v.field("learning_rate", learning_rate, "Adam's learning rate");
    v.require(learning_rate > 0, "learning_rate", "must be > 0");
    v.field("weight_decay", weight_decay, "Adam's L2 weight decay");
    v.require(weight_decay >= 0, "weight_decay", "must be >= 0");
    v.field("batch_rows", batch_rows, "states per gradient step");
    v.require(batch_rows >= 1, "batch_rows", "must be at least 1");
    v.field("holdout_fraction", holdout_fraction,
            "share of rollouts (with all their states) held out to measure the fit");
    v.require(holdout_fraction > 0 && holdout_fraction < 1, "holdout_fraction",
              "must be in (0, 1)");
    v.field("time_buckets", time_buckets,
            "equal ranges of steps over which the held-out correlation is reported");
    v.require(time_buckets >= 1, "time_buckets", "must be at least 1");
    v.field("output", output,
            "the checkpoint, relative to the training file's folder (default: the training "
            "file's name with .pt); the card and resume state go beside it");
    network.visit(v);
  }
};

const std::vector<std::string> kTopLevel{"experiment", "model", "reward", "value_training"};

// ---------------------------------------------------------------------------
// The training file.

struct TrainingFile {
  std::filesystem::path file;
  std::shared_ptr<const SourceMap> sources;
  ExperimentSettings settings;
  ComponentSpec model, reward;
  ValueTrainingParams params;
  std::filesystem::path checkpoint;
  std::string effective_toml;  // [config.*] tables of the card
  std::string fingerprint;     // the effective configuration without epochs and output
};

TrainingFile load_training_file(const ValueTrainingOptions& options, const Registry& registry) {
  TrainingFile tf;
  tf.file = options.file;
  if (!std::filesystem::is_regular_file(tf.file)) {
    throw InputError(fmt::format("training file not found: {}", tf.file.string()));
  }
  const std::string name = tf.file.string();
  toml::table root;
  try {
    root = toml::parse_file(name);
  } catch (const toml::parse_error& e) {
    throw InputError(fmt::format("{}:{}:{}: TOML syntax error: {}", name, e.source().begin.line,
                                 e.source().begin.column, e.description()));
  }
  const auto base_dir = std::filesystem::absolute(tf.file).parent_path();
  tf.sources = SourceMap::of(root, name);
  for (const auto& assignment : options.overrides) apply_override(root, assignment);
  for (auto&& [key, node] : root) {
    if (std::find(kTopLevel.begin(), kTopLevel.end(), key.str()) == kTopLevel.end()) {
      throw InputError(fmt::format("{}: unknown top-level key '{}' (known in a training file: {})",
                                   tf.sources->locate(std::string(key.str())), key.str(),
                                   fmt::join(kTopLevel, ", ")));
    }
  }
  auto table_at = [&](const std::string& key, bool required) -> toml::table {
    const toml::node* node = root.get(key);
    if (!node) {
      if (required) throw InputError(fmt::format("{}: missing [{}] table", name, key));
      return {};
    }
    if (!node->is_table()) {
      throw InputError(fmt::format("{}: '{}' must be a table", tf.sources->locate(key), key));
    }
    return *node->as_table();
  };
  auto origin = [&](const std::string& path) { return ConfigOrigin{tf.sources, path, base_dir}; };

  table_at("model", true);
  table_at("reward", true);
  tf.model = component_spec_from(*root.get("model"), origin("model"));
  tf.reward = component_spec_from(*root.get("reward"), origin("reward"));
  tf.settings.data_dir = default_data_dir();
  make_component_config(table_at("experiment", false), origin("experiment"))
      ->read([&](ParamVisitor& v) { tf.settings.visit(v); });
  make_component_config(table_at("value_training", false), origin("value_training"))
      ->read([&](ParamVisitor& v) { tf.params.visit(v); });

  if (!options.out.empty()) {
    tf.checkpoint = std::filesystem::absolute(options.out);
  } else if (!tf.params.output.empty()) {
    tf.checkpoint = base_dir / tf.params.output;
  } else {
    tf.checkpoint = base_dir / tf.file.filename().replace_extension(".pt");
  }
  tf.checkpoint = tf.checkpoint.lexically_normal();
  tf.params.output = tf.checkpoint.string();

  auto effective = [&](ComponentKind kind, const ComponentSpec& spec) {
    toml::table t = toml::parse(registry.effective_toml(kind, spec));
    t.insert_or_assign("type", spec.type);
    return t;
  };
  toml::table model = effective(ComponentKind::model, tf.model);
  toml::table reward = effective(ComponentKind::reward, tf.reward);
  toml::table experiment = write_params([&](ParamVisitor& v) { tf.settings.visit(v); });
  toml::table training = write_params([&](ParamVisitor& v) { tf.params.visit(v); });
  tf.effective_toml = section_text({"config", "experiment"}, experiment) +
                      section_text({"config", "model"}, model) +
                      section_text({"config", "reward"}, reward) +
                      section_text({"config", "value_training"}, training);
  // What a resumed run must share with the run it continues.
  training.erase("epochs");
  training.erase("output");
  experiment.erase("threads");
  tf.fingerprint = section_text({"experiment"}, experiment) + section_text({"model"}, model) +
                   section_text({"reward"}, reward) + section_text({"value_training"}, training);
  return tf;
}

// ---------------------------------------------------------------------------
// Seeds, files, small statistics.

// Every random stream (a rollout batch, the split, the initial weights, an
// epoch's shuffle) has its own generator, so a resumed run draws what an
// uninterrupted one would.

std::filesystem::path beside(const std::filesystem::path& checkpoint, const std::string& suffix) {
  std::filesystem::path p = checkpoint;
  return p.replace_extension(suffix);
}

torch::Tensor text_tensor(const std::string& text) {
  return torch::from_blob(const_cast<char*>(text.data()), {static_cast<int64_t>(text.size())},
                          torch::kUInt8)
      .clone();
}

std::string tensor_text(const torch::Tensor& t) {
  torch::Tensor bytes = t.to(torch::kCPU).contiguous();
  return std::string(reinterpret_cast<const char*>(bytes.data_ptr<uint8_t>()), bytes.numel());
}

double pearson(const torch::Tensor& a, const torch::Tensor& b) {
  if (a.numel() < 2) return NAN;
  torch::Tensor x = a.to(torch::kDouble) - a.to(torch::kDouble).mean();
  torch::Tensor y = b.to(torch::kDouble) - b.to(torch::kDouble).mean();
  const double denominator = std::sqrt((x * x).sum().item<double>() * (y * y).sum().item<double>());
  return denominator > 0 ? (x * y).sum().item<double>() / denominator : NAN;
}

// "key.path" -> value text, for telling which setting changed.
void flatten(const toml::table& table, const std::string& prefix,
             std::map<std::string, std::string>& out) {
  for (auto&& [key, node] : table) {
    const std::string path = prefix + std::string(key.str());
    if (const toml::table* sub = node.as_table()) {
      flatten(*sub, path + ".", out);
    } else {
      std::ostringstream os;
      node.visit([&](auto&& n) { os << n; });
      out[path] = os.str();
    }
  }
}

std::string first_difference(const std::string& saved, const std::string& now) {
  std::map<std::string, std::string> a, b;
  flatten(toml::parse(saved), "", a);
  flatten(toml::parse(now), "", b);
  for (auto& [key, value] : b) a.try_emplace(key, "(unset)");
  for (auto& [key, value] : a) {
    auto it = b.find(key);
    const std::string current = it == b.end() ? "(unset)" : it->second;
    if (current != value) return fmt::format("{} was {}, is now {}", key, value, current);
  }
  return "";
}

// ---------------------------------------------------------------------------
// Rollouts.

// Every recorded state with its step, its rollout and that rollout's reward.
struct Rollouts {
  torch::Tensor states;   // [N, ...] the domain's dtype, CPU
  torch::Tensor steps;    // [N] int64 in [1, T]
  torch::Tensor rollout;  // [N] int64
  torch::Tensor rewards;  // [R] float64: r(x_0) of each rollout
};

Rollouts roll_out(DiffusionModel& model, RewardOracle& reward, const TrainingFile& tf) {
  torch::NoGradGuard no_grad;
  const auto& p = tf.params;
  const int steps = model.num_steps();
  const int64_t keep = p.states_per_rollout > 0 ? p.states_per_rollout : steps;
  std::vector<torch::Tensor> states, step_ids, rollout_ids, rewards;
  const auto start = std::chrono::steady_clock::now();
  for (int64_t first = 0, batch = 0; first < p.rollouts; first += p.batch_size, ++batch) {
    const int64_t n = std::min(p.batch_size, p.rollouts - first);
    at::Generator generator = stream_generator(tf.settings.seed, "rollouts", batch);
    // Which steps of each rollout are kept: `keep` of the T, uniformly.
    torch::Tensor kept;
    if (keep < steps) {
      kept = torch::rand({n, steps}, generator, torch::kDouble).argsort(int64_t{1}).lt(keep);
    }
    torch::Tensor x = model.prior(n, generator);
    const torch::Tensor ids = torch::arange(first, first + n, torch::kLong);
    for (int t = steps; t >= 1; --t) {
      torch::Tensor rows =
          kept.defined() ? kept.select(1, steps - t) : torch::ones({n}, torch::kBool);
      states.push_back(x.index({rows.to(x.device())}).to(torch::kCPU));
      rollout_ids.push_back(ids.index({rows}));
      step_ids.push_back(torch::full({rollout_ids.back().size(0)}, t, torch::kLong));
      x = model.transition(x, t)->sample(1, generator);
    }
    rewards.push_back(reward.score(Samples(x, model.domain())));
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    spdlog::info("rollouts {}/{}: mean reward {:.4g} ({:.1f} s)", first + n, p.rollouts,
                 rewards.back().mean().item<double>(), seconds);
  }
  return {torch::cat(states), torch::cat(step_ids), torch::cat(rollout_ids), torch::cat(rewards)};
}

void save_rollouts(const Rollouts& r, const std::filesystem::path& file,
                   const std::string& fingerprint) {
  write_atomically(file, [&](const std::filesystem::path& tmp) {
    torch::serialize::OutputArchive archive;
    archive.write("fingerprint", text_tensor(fingerprint));
    archive.write("states", r.states);
    archive.write("steps", r.steps);
    archive.write("rollout", r.rollout);
    archive.write("rewards", r.rewards);
    archive.save_to(tmp.string());
  });
}

// The saved rollouts of this configuration, or none.
std::optional<Rollouts> load_rollouts(const std::filesystem::path& file,
                                      const std::string& fingerprint) {
  if (!std::filesystem::exists(file)) return std::nullopt;
  torch::serialize::InputArchive archive;
  torch::Tensor saved;
  Rollouts r;
  try {
    archive.load_from(file.string());
    archive.read("fingerprint", saved);
    if (tensor_text(saved) != fingerprint) return std::nullopt;
    archive.read("states", r.states);
    archive.read("steps", r.steps);
    archive.read("rollout", r.rollout);
    archive.read("rewards", r.rewards);
  } catch (const c10::Error& e) {
    spdlog::warn("cannot read saved rollouts {} ({}); sampling them again", file.string(),
                 e.what_without_backtrace());
    return std::nullopt;
  }
  return r;
}

// ---------------------------------------------------------------------------
// Training state (resume).

struct History {
  int64_t epoch = 0;  // epochs done
  double initial_heldout_loss = NAN;
  std::vector<double> train_loss, heldout_loss;
};

// Archive keys may not contain dots.
std::string archive_key(std::string name) {
  std::replace(name.begin(), name.end(), '.', '/');
  return "network/" + name;
}

void save_state(const std::filesystem::path& file, const std::string& fingerprint,
                const History& history, const ValueNetwork& network,
                torch::optim::Optimizer& optimizer) {
  write_atomically(file, [&](const std::filesystem::path& tmp) {
    torch::serialize::OutputArchive archive;
    archive.write("fingerprint", text_tensor(fingerprint));
    archive.write("epoch", torch::tensor(history.epoch, torch::kLong));
    archive.write("initial_heldout_loss",
                  torch::tensor(history.initial_heldout_loss, torch::kDouble));
    archive.write("train_loss", torch::tensor(history.train_loss, torch::kDouble));
    archive.write("heldout_loss", torch::tensor(history.heldout_loss, torch::kDouble));
    for (const auto& [name, tensor] : network.named_state()) {
      archive.write(archive_key(name), tensor.detach());
    }
    torch::serialize::OutputArchive optimizer_archive;
    optimizer.save(optimizer_archive);
    archive.write("optimizer", optimizer_archive);
    archive.save_to(tmp.string());
  });
}

std::vector<double> to_vector(const torch::Tensor& t) {
  torch::Tensor c = t.to(torch::kCPU, torch::kDouble).contiguous();
  return {c.data_ptr<double>(), c.data_ptr<double>() + c.numel()};
}

// The saved training state, after checking it continues this configuration.
torch::serialize::InputArchive open_state(const std::filesystem::path& file,
                                          const std::string& fingerprint, const TrainingFile& tf,
                                          const std::string& device) {
  if (!std::filesystem::exists(file)) {
    throw InputError(fmt::format(
        "--resume: no training state {} to continue (run `svdd train {}` without --resume to "
        "start)",
        file.string(), tf.file.string()));
  }
  torch::serialize::InputArchive archive;
  std::string saved_text;
  try {
    archive.load_from(file.string(), torch::Device(device));
    torch::Tensor saved;
    archive.read("fingerprint", saved);
    saved_text = tensor_text(saved);
  } catch (const c10::Error& e) {
    throw InputError(fmt::format("--resume: cannot read the training state {}: {}", file.string(),
                                 e.what_without_backtrace()));
  }
  if (saved_text != fingerprint) {
    throw InputError(fmt::format(
        "--resume: {} was trained with another configuration ({}); only value_training.epochs "
        "and experiment.threads may change on resume",
        file.string(), first_difference(saved_text, fingerprint)));
  }
  return archive;
}

History load_state(const std::filesystem::path& file, const std::string& fingerprint,
                   const TrainingFile& tf, ValueNetwork& network,
                   torch::optim::Optimizer& optimizer, const std::string& device) {
  torch::serialize::InputArchive archive = open_state(file, fingerprint, tf, device);
  History history;
  try {
    torch::Tensor epoch, initial, train_loss, heldout_loss;
    archive.read("epoch", epoch);
    archive.read("initial_heldout_loss", initial);
    archive.read("train_loss", train_loss);
    archive.read("heldout_loss", heldout_loss);
    history.epoch = epoch.item<int64_t>();
    history.initial_heldout_loss = initial.item<double>();
    history.train_loss = to_vector(train_loss);
    history.heldout_loss = to_vector(heldout_loss);
    for (auto& [name, tensor] : network.named_state()) archive.read(archive_key(name), tensor);
    torch::serialize::InputArchive optimizer_archive;
    archive.read("optimizer", optimizer_archive);
    optimizer.load(optimizer_archive);
  } catch (const c10::Error& e) {
    throw InputError(fmt::format("--resume: cannot read the training state {}: {}", file.string(),
                                 e.what_without_backtrace()));
  }
  return history;
}

// ---------------------------------------------------------------------------
// Fitting and evaluation.

struct Split {
  torch::Tensor x, steps, target;  // CPU; target float32
  int64_t rollouts = 0;
  int64_t size() const { return x.size(0); }
};

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

// One pass over the training states in a shuffled order; the mean squared
// error in reward units.
double train_epoch(ValueNetwork& network, torch::optim::Optimizer& optimizer, const Split& train,
                   int64_t epoch, const TrainingFile& tf, double scale, const std::string& device) {
  network.train(true);
  at::Generator generator = stream_generator(tf.settings.seed, "epoch", epoch);
  torch::Tensor order = torch::randperm(train.size(), generator, torch::kLong);
  const double inverse_variance = 1.0 / (scale * scale);
  double total = 0.0;
  for (int64_t b = 0; b < train.size(); b += tf.params.batch_rows) {
    torch::Tensor rows = order.slice(0, b, std::min(train.size(), b + tf.params.batch_rows));
    torch::Tensor x = train.x.index_select(0, rows).to(device);
    torch::Tensor steps = train.steps.index_select(0, rows).to(device);
    torch::Tensor target = train.target.index_select(0, rows).to(device);
    // The MSE of the standardised target: well scaled for Adam whatever the
    // reward's units.
    torch::Tensor loss = torch::mse_loss(network.predict(x, steps), target) * inverse_variance;
    optimizer.zero_grad();
    loss.backward();
    optimizer.step();
    total += loss.item<double>() * rows.size(0);
  }
  return total / train.size() * scale * scale;
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

void write_card(const std::filesystem::path& file, const TrainingFile& tf,
                const ValueNetwork& network, const ValueTrainingReport& report) {
  toml::table top;
  top.insert("checkpoint", report.checkpoint.filename().string());
  top.insert("training_file", std::filesystem::absolute(tf.file).lexically_normal().string());
  top.insert("seed", tf.settings.seed);
  top.insert("svdd_version", version());
  top.insert("libtorch_version", torch_version());
  top.insert("written", utc_now_text());

  toml::table results;
  results.insert("epochs", report.epochs);
  results.insert("network_parameters", network.parameter_count());
  results.insert("train_rollouts", report.train_rollouts);
  results.insert("heldout_rollouts", report.heldout_rollouts);
  results.insert("train_states", report.train_states);
  results.insert("heldout_states", report.heldout_states);
  results.insert("train_loss", report.train_loss.empty() ? NAN : report.train_loss.back());
  results.insert("heldout_loss", report.heldout_loss.empty() ? NAN : report.heldout_loss.back());
  results.insert("initial_heldout_loss", report.initial_heldout_loss);
  results.insert("heldout_reward_variance", report.heldout_variance);
  results.insert("heldout_correlation", report.heldout_correlation);
  toml::array train_loss, heldout_loss, buckets;
  for (double v : report.train_loss) train_loss.push_back(v);
  for (double v : report.heldout_loss) heldout_loss.push_back(v);
  results.insert("train_loss_per_epoch", train_loss);
  results.insert("heldout_loss_per_epoch", heldout_loss);
  results.insert("rollout_seconds", report.rollout_seconds);
  results.insert("training_seconds", report.training_seconds);
  for (const auto& b : report.buckets) {
    buckets.push_back(toml::table{{"first_step", b.first_step},
                                  {"last_step", b.last_step},
                                  {"states", b.states},
                                  {"correlation", b.correlation},
                                  {"mse", b.mse}});
  }
  results.insert("buckets", buckets);

  std::ostringstream head;
  head << top;
  std::ofstream out(file);
  out << fmt::format(
             "# Card of the SVDD-MC value network {}: what it was trained for ([domain],\n"
             "# [network], checked before use) and how well it predicts the reward of\n"
             "# held-out rollouts ([results]; losses are mean squared errors in reward\n"
             "# units, buckets are ranges of steps). [config.*] is the effective training\n"
             "# configuration. Use it with value = {{ type = \"learned\", checkpoint = \"{}\" "
             "}}.\n\n",
             report.checkpoint.filename().string(), report.checkpoint.string())
      << head.str() << "\n\n"
      << network.card_toml() << "\n"
      << section_text({"results"}, results) << tf.effective_toml;
  out.close();
  if (!out) throw RuntimeFailure(fmt::format("cannot write {}", file.string()));
}

}  // namespace

ValueTrainingReport train_value_network(const ValueTrainingOptions& options,
                                        const Registry& registry) {
  const TrainingFile tf = load_training_file(options, registry);
  const auto& p = tf.params;
  const auto& settings = tf.settings;
  settings.check_device();
  BuildContext build;
  build.device = settings.device;
  build.chunk_rows = settings.chunk_rows;
  build.data_dir = settings.data_dir;
  auto model = registry.make<ComponentKind::model>(tf.model, build);
  auto reward = registry.make<ComponentKind::reward>(tf.reward, build, model->domain());
  const int steps = model->num_steps();
  auto refuse = [&](const std::string& key, const std::string& message) {
    throw InputError(fmt::format("{}: [value_training] {}: {}",
                                 tf.sources->locate("value_training." + key), key, message));
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

  const int64_t threads = settings.apply_threads();
  std::filesystem::create_directories(tf.checkpoint.parent_path());
  const auto card_file = card_path(tf.checkpoint);
  const auto state_file = beside(tf.checkpoint, ".resume.pt");
  const auto rollouts_file = beside(tf.checkpoint, ".rollouts.pt");
  if (options.resume) {
    open_state(state_file, tf.fingerprint, tf, settings.device);  // refuses before any work
  } else {
    if (std::filesystem::exists(tf.checkpoint)) {
      spdlog::warn("replacing {} and its card (continue a training with --resume instead)",
                   tf.checkpoint.string());
    }
    std::filesystem::remove(state_file);
    std::filesystem::remove(rollouts_file);
  }
  spdlog::info("svdd {} (libtorch {}): training a value network for {} ({} steps), {} threads",
               version(), torch_version(), tf.model.type, steps, threads);

  ValueTrainingReport report;
  report.checkpoint = tf.checkpoint;
  report.card = card_file;

  // Rollouts, labelled with their rewards.
  std::optional<Rollouts> rollouts;
  if (options.resume) rollouts = load_rollouts(rollouts_file, tf.fingerprint);
  if (rollouts) {
    spdlog::info("loaded {} states of {} rollouts from {}", rollouts->states.size(0),
                 rollouts->rewards.size(0), rollouts_file.string());
  } else {
    const auto start = std::chrono::steady_clock::now();
    Cost cost;
    auto checked = counted(*reward, model->domain(), cost, settings.chunk_rows, tf.reward.type);
    rollouts = roll_out(*model, *checked, tf);
    report.rollout_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    save_rollouts(*rollouts, rollouts_file, tf.fingerprint);
  }

  // Split by rollout: a rollout's states are all training or all held out.
  torch::Tensor order =
      torch::randperm(p.rollouts, stream_generator(settings.seed, "split"), torch::kLong);
  torch::Tensor held_rollout = torch::zeros({p.rollouts}, torch::kBool);
  held_rollout.index_fill_(0, order.slice(0, 0, held_rollouts), true);
  const torch::Tensor held_state = held_rollout.index_select(0, rollouts->rollout);
  const torch::Tensor state_reward =
      rollouts->rewards.index_select(0, rollouts->rollout).to(torch::kFloat);
  auto split = [&](const torch::Tensor& mask, int64_t count) {
    torch::Tensor rows = mask.nonzero().squeeze(1);
    return Split{rollouts->states.index_select(0, rows), rollouts->steps.index_select(0, rows),
                 state_reward.index_select(0, rows), count};
  };
  const Split train = split(held_state.logical_not(), p.rollouts - held_rollouts);
  const Split held = split(held_state, held_rollouts);
  report.train_rollouts = train.rollouts;
  report.heldout_rollouts = held.rollouts;
  report.train_states = train.size();
  report.heldout_states = held.size();

  const double mean = train.target.to(torch::kDouble).mean().item<double>();
  const double spread = train.target.to(torch::kDouble).std().item<double>();
  const double scale = spread > 1e-12 ? spread : 1.0;
  if (spread <= 1e-12) {
    spdlog::warn(
        "every training rollout has the same reward {}: the value network can only "
        "predict that constant",
        mean);
  }
  report.heldout_variance = mse(torch::full({held.size()}, mean, torch::kDouble), held.target);
  spdlog::info(
      "{} training states ({} rollouts), {} held out ({} rollouts); reward mean {:.4g}, std "
      "{:.4g}",
      train.size(), train.rollouts, held.size(), held.rollouts, mean, spread);

  // The network and its optimiser, fresh or resumed.
  at::Generator init = stream_generator(settings.seed, "init");
  ValueNetwork network(p.network, model->domain(), steps, init);
  network.set_target_scale(mean, scale);
  network.to(settings.device);
  torch::optim::Adam optimizer(
      network.parameters(),
      torch::optim::AdamOptions(p.learning_rate).weight_decay(p.weight_decay));
  History history;
  if (options.resume) {
    history = load_state(state_file, tf.fingerprint, tf, network, optimizer, settings.device);
    spdlog::info("resuming after epoch {} of {}", history.epoch, p.epochs);
  } else {
    history.initial_heldout_loss =
        mse(predict_all(network, held, settings.chunk_rows), held.target);
  }
  report.first_epoch = history.epoch;
  spdlog::info(
      "network: {} parameters; held-out loss before training {:.4g} (reward variance "
      "{:.4g})",
      network.parameter_count(), history.initial_heldout_loss, report.heldout_variance);

  const auto start = std::chrono::steady_clock::now();
  for (int64_t epoch = history.epoch; epoch < p.epochs; ++epoch) {
    const auto epoch_start = std::chrono::steady_clock::now();
    const double train_loss =
        train_epoch(network, optimizer, train, epoch, tf, scale, settings.device);
    const double held_loss = mse(predict_all(network, held, settings.chunk_rows), held.target);
    history.epoch = epoch + 1;
    history.train_loss.push_back(train_loss);
    history.heldout_loss.push_back(held_loss);
    save_state(state_file, tf.fingerprint, history, network, optimizer);
    spdlog::info(
        "epoch {}/{}: train loss {:.4g}, held-out loss {:.4g} (R^2 {:.3f}), {:.1f} s", epoch + 1,
        p.epochs, train_loss, held_loss, 1.0 - held_loss / report.heldout_variance,
        std::chrono::duration<double>(std::chrono::steady_clock::now() - epoch_start).count());
  }
  report.training_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  report.epochs = history.epoch;
  report.initial_heldout_loss = history.initial_heldout_loss;
  report.train_loss = history.train_loss;
  report.heldout_loss = history.heldout_loss;

  const torch::Tensor prediction = predict_all(network, held, settings.chunk_rows);
  report.heldout_correlation = pearson(prediction, held.target);
  report.buckets = bucket_reports(prediction, held, steps, p.time_buckets);
  spdlog::info("held-out correlation of predicted value and realised reward: {:.3f} overall",
               report.heldout_correlation);
  for (const auto& b : report.buckets) {
    spdlog::info("  steps {:>4}-{:<4} {:>8} states  correlation {:.3f}  mse {:.4g}", b.first_step,
                 b.last_step, b.states, b.correlation, b.mse);
  }
  write_atomically(tf.checkpoint, [&](const auto& tmp) { network.save(tmp); });
  write_atomically(card_file, [&](const auto& tmp) { write_card(tmp, tf, network, report); });
  spdlog::info("wrote {} and {}", tf.checkpoint.string(), card_file.string());
  return report;
}

}  // namespace svdd
