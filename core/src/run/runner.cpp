// Running an experiment: build every component first (so bad input fails
// before any work), then decode batch by batch, appending results as each
// batch finishes, and summarise from the files (see runner.hpp).
#include "svdd/run/runner.hpp"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <fmt/format.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <chrono>
#include <ctime>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include "io/csv.hpp"
#include "io/file_writing.hpp"
#include "run/sample_grid.hpp"
#include "run/summary.hpp"
#include "svdd/decoding/decoding_loop.hpp"
#include "svdd/error.hpp"
#include "svdd/util/seeding.hpp"
#include "svdd/version.hpp"

namespace svdd {
namespace {

// Every batch has its own generator, derived from the master seed, the run
// label and the batch index: a batch gives the same samples whether it runs
// first, last, or after a resume.
uint64_t batch_seed(int64_t seed, const std::string& label, int64_t batch) {
  return stream_seed(seed, label, batch);
}

struct PreparedRun {
  const RunPlan* plan = nullptr;
  size_t index = 0;  // position in the experiment's run order
  BuildContext build;
  std::shared_ptr<DiffusionModel> model;
  std::shared_ptr<RewardOracle> reward;
  std::vector<std::pair<std::string, std::shared_ptr<RewardOracle>>> evals;
  std::vector<std::pair<std::string, std::shared_ptr<SampleSetMetric>>> metrics;
  Cost cost;
  std::unique_ptr<DiffusionModel> counted_model;
  std::unique_ptr<RewardOracle> counted_reward;
  std::unique_ptr<Method> method;
  std::optional<at::Tensor> target;  // [bins] target probabilities, toys only
};

// Cost and sample totals per run label from batches.csv.
struct RunTotals {
  Cost cost;
  int64_t samples = 0;
  double diversity_sum = 0;
  int64_t diversity_pairs = 0;
  std::map<int64_t, int64_t> bins;  // bin -> count (-1: outside)
};

std::map<int64_t, int64_t> parse_bins(const std::string& text);

std::map<std::string, RunTotals> read_totals(const std::filesystem::path& batches_file) {
  std::map<std::string, RunTotals> totals;
  if (!std::filesystem::exists(batches_file)) return totals;
  for (const auto& row : read_csv(batches_file)) {
    auto& total = totals[row.at("run")];
    total.cost += Cost{std::stoll(row.at("denoiser_rows")), std::stoll(row.at("reward_calls")),
                       std::stoll(row.at("value_calls")), std::stod(row.at("wall_seconds"))};
    total.samples += std::stoll(row.at("samples"));
    total.diversity_sum += std::stod(row.at("diversity_sum"));
    total.diversity_pairs += std::stoll(row.at("diversity_pairs"));
    for (const auto& [bin, count] : parse_bins(row.at("bins"))) total.bins[bin] += count;
  }
  return totals;
}

// Builds (or rebuilds) a run's method. `totals` is null while validating
// before any work; then compute-matched methods get no measurement yet.
void build_method(PreparedRun& run, const std::vector<std::unique_ptr<PreparedRun>>& runs,
                  const Registry& registry, const std::map<std::string, RunTotals>* totals) {
  auto measured = [&](const std::string& name) -> std::optional<double> {
    // A run label, or a method name: its run under the same sweep values of
    // the shared keys (model, reward, ...) as this run.
    const PreparedRun* found = nullptr;
    int matches = 0;
    for (const auto& other : runs) {
      if (other->plan->label == name) {
        found = other.get();
        matches = 1;
        break;
      }
      if (other->plan->method == name && other->plan->context == run.plan->context) {
        found = other.get();
        ++matches;
      }
    }
    if (!found) throw InputError(fmt::format("match_compute_of: no run named '{}'", name));
    if (matches > 1) {
      throw InputError(fmt::format(
          "match_compute_of: method '{}' has several runs here (it is swept); name one run label",
          name));
    }
    if (found->index >= run.index) {
      throw InputError(
          fmt::format("match_compute_of: run '{}' must come before '{}' in the experiment file",
                      found->plan->label, run.plan->label));
    }
    if (!totals) return std::nullopt;
    auto it = totals->find(found->plan->label);
    if (it == totals->end() || it->second.samples == 0) {
      throw RuntimeFailure(
          fmt::format("match_compute_of: run '{}' has no finished batch", found->plan->label));
    }
    return double(it->second.cost.denoiser_rows) / double(it->second.samples);
  };
  MethodDeps deps{*run.counted_model,
                  *run.counted_reward,
                  [&](const ComponentSpec& spec, double alpha) {
                    return registry.make_value(
                        spec, ValueDeps{*run.counted_model, *run.counted_reward, alpha, run.build});
                  },
                  run.build,
                  measured,
                  [&](const ComponentSpec& spec) {
                    return counted(registry.make_reward(spec, run.build, run.model->domain()),
                                   run.model->domain(), run.cost, run.build.chunk_rows, spec.type);
                  }};
  run.method = registry.make_method(run.plan->method_spec, deps);
}

// Builds every component of every run, so that bad input fails before any
// work. Models and rewards with identical effective tables are built once
// and shared.
std::vector<std::unique_ptr<PreparedRun>> prepare(const Experiment& experiment,
                                                  const Registry& registry) {
  std::map<std::string, std::shared_ptr<DiffusionModel>> models;
  std::map<std::string, std::shared_ptr<RewardOracle>> rewards;
  std::map<std::string, std::shared_ptr<SampleSetMetric>> metrics;
  std::vector<std::unique_ptr<PreparedRun>> runs;
  for (const auto& plan : experiment.runs) {
    auto run = std::make_unique<PreparedRun>();
    run->plan = &plan;
    run->index = runs.size();
    run->build.device = plan.settings.device;
    run->build.chunk_rows = plan.settings.chunk_rows;
    run->build.data_dir = plan.settings.data_dir;
    const std::string context = fmt::format("{}|{}", run->build.device, run->build.chunk_rows);
    const std::string model_key =
        plan.model.type + registry.effective_toml(ComponentKind::model, plan.model) + context;
    auto& model = models[model_key];
    if (!model) model = registry.make_model(plan.model, run->build);
    run->model = model;
    auto reward_for = [&](const ComponentSpec& spec) {
      const std::string key =
          model_key + "|" + spec.type + registry.effective_toml(ComponentKind::reward, spec);
      auto& reward = rewards[key];
      if (!reward) reward = registry.make_reward(spec, run->build, model->domain());
      return reward;
    };
    run->reward = reward_for(plan.reward);
    for (const auto& [name, spec] : plan.evals) run->evals.emplace_back(name, reward_for(spec));
    for (const auto& [name, spec] : plan.metrics) {
      const std::string key =
          model_key + "|" + spec.type + registry.effective_toml(ComponentKind::metric, spec);
      auto& metric = metrics[key];
      if (!metric) metric = registry.make_metric(spec, run->build, model->domain());
      run->metrics.emplace_back(name, metric);
    }
    run->counted_model = counted(*run->model, run->cost);
    run->counted_reward = counted(*run->reward, run->model->domain(), run->cost,
                                  plan.settings.chunk_rows, plan.reward.type);
    runs.push_back(std::move(run));
  }
  for (auto& run : runs) build_method(*run, runs, registry, nullptr);
  return runs;
}

// Scores finished samples with an oracle outside the method's budget, with
// the same NaN and exception checks as during decoding.
at::Tensor evaluate(RewardOracle& oracle, const std::string& name, const Domain& domain,
                    const at::Tensor& x, int64_t chunk_rows) {
  Cost scratch;
  auto checked = counted(oracle, domain, scratch, chunk_rows, name);
  c10::InferenceMode guard;
  return checked->score(Samples(x, domain));
}

// The target p_pre(x) exp(r(x)/alpha) / Z aggregated to the model's bins.
at::Tensor target_bins(const ExactDistribution& exact, RewardOracle& reward, const Domain& domain,
                       double alpha, int64_t chunk_rows, const std::string& name) {
  const auto& q = exact.quadrature();
  at::Tensor r = evaluate(reward, name, domain, q.points, chunk_rows);
  at::Tensor log_w;
  if (alpha > 0) {
    log_w = q.log_mass + r / alpha;
  } else {
    const double best = r.max().item<double>();
    log_w = at::where(r.ge(best - 1e-9), q.log_mass, at::full_like(q.log_mass, -INFINITY));
  }
  at::Tensor w = log_w.softmax(0);
  return at::zeros({exact.num_bins()}, at::kDouble).index_add_(0, q.bin, w);
}

std::string bins_text(const std::map<int64_t, int64_t>& bins) {
  std::string out;
  for (const auto& [bin, count] : bins)
    out += fmt::format("{}{}:{}", out.empty() ? "" : " ", bin, count);
  return out;
}

std::map<int64_t, int64_t> parse_bins(const std::string& text) {
  std::map<int64_t, int64_t> bins;
  std::istringstream in(text);
  std::string item;
  while (in >> item) {
    const auto colon = item.find(':');
    if (colon == std::string::npos) continue;
    bins[std::stoll(item.substr(0, colon))] += std::stoll(item.substr(colon + 1));
  }
  return bins;
}

const std::vector<std::string> kBatchHeader{
    "run",         "batch",        "samples",       "denoiser_rows",   "reward_calls",
    "value_calls", "wall_seconds", "diversity_sum", "diversity_pairs", "bins"};

// Keeps only the rows of batches recorded as finished in a per-batch CSV
// file with "run" and "batch" columns (a crash can leave rows of the batch
// in flight).
void truncate_to_finished(const std::filesystem::path& file,
                          const std::set<std::pair<std::string, int64_t>>& finished) {
  if (!std::filesystem::exists(file)) return;
  std::ifstream in(file);
  std::string header, line, kept;
  std::getline(in, header);
  const auto columns = csv_split(header);
  const auto run_col = std::find(columns.begin(), columns.end(), "run") - columns.begin();
  const auto batch_col = std::find(columns.begin(), columns.end(), "batch") - columns.begin();
  size_t dropped = 0;
  while (std::getline(in, line)) {
    const auto f = csv_split(line);
    if (static_cast<long>(f.size()) > std::max(run_col, batch_col) &&
        finished.count({f[run_col], std::stoll(f[batch_col])})) {
      kept += line + "\n";
    } else {
      ++dropped;
    }
  }
  in.close();
  std::ofstream out(file, std::ios::trunc);
  out << header << "\n" << kept;
  if (dropped) {
    spdlog::info("resume: dropped {} rows of unfinished batches from {}", dropped,
                 file.filename().string());
  }
}

class Progress {
 public:
  explicit Progress(bool enabled) : tty_(enabled && isatty(STDERR_FILENO)) {}
  void step(const std::string& label, int64_t batch, int64_t batches, int t, int steps) {
    if (!tty_) return;
    const auto now = std::chrono::steady_clock::now();
    if (t != 1 && now - last_ < std::chrono::milliseconds(100)) return;
    last_ = now;
    fmt::print(stderr, "\r\033[K{}: batch {}/{} step {}/{}", label, batch + 1, batches,
               steps - t + 1, steps);
    std::fflush(stderr);
  }
  void done() {
    if (tty_) fmt::print(stderr, "\r\033[K");
  }

 private:
  bool tty_;
  std::chrono::steady_clock::time_point last_{};
};

// Adds run.log to the default logger for the lifetime of the object.
class LogFile {
 public:
  explicit LogFile(const std::filesystem::path& file)
      : sink_(std::make_shared<spdlog::sinks::basic_file_sink_mt>(file.string())) {
    spdlog::default_logger()->sinks().push_back(sink_);
  }
  ~LogFile() {
    auto& sinks = spdlog::default_logger()->sinks();
    sinks.erase(std::remove(sinks.begin(), sinks.end(), sink_), sinks.end());
  }

 private:
  spdlog::sink_ptr sink_;
};

std::filesystem::path output_dir(const Experiment& experiment, const RunOptions& options) {
  if (!options.out_dir.empty()) return options.out_dir;
  if (!experiment.settings.output.empty()) return experiment.settings.output;
  return std::filesystem::path("runs") / experiment.settings.name;
}

}  // namespace

namespace {

// An append-only CSV file that writes its header when it is new.
class AppendCsv {
 public:
  AppendCsv(const std::filesystem::path& file, const std::vector<std::string>& header)
      : file_(file) {
    const bool fresh = !std::filesystem::exists(file);
    out_.open(file, std::ios::app);
    if (fresh) out_ << csv_line(header) << "\n" << std::flush;
  }
  void row(const std::vector<std::string>& fields) { out_ << csv_line(fields) << "\n"; }
  void flush() {
    out_.flush();
    if (!out_) throw RuntimeFailure("cannot write " + file_.string());
  }
  void close() { out_.close(); }

 private:
  std::filesystem::path file_;
  std::ofstream out_;
};

struct OutputFiles {
  std::filesystem::path dir;
  std::filesystem::path samples() const { return dir / "samples.csv"; }
  std::filesystem::path batches() const { return dir / "batches.csv"; }
  std::filesystem::path diagnostics() const { return dir / "diagnostics.csv"; }
};

void write_config(const std::filesystem::path& dir, const Experiment& experiment) {
  std::ofstream config(dir / "config.toml");
  config << fmt::format(
      "# Effective configuration of this run, written by svdd {} (libtorch {}) at {}.\n"
      "# Every component's defaults are filled in. Rerun exactly with\n"
      "#   svdd run {}/config.toml --out <new folder>\n"
      "# Seeds: the generator of batch b of run R is seeded with\n"
      "#   splitmix64(splitmix64(seed ^ splitmix64(fnv1a(R))) + b)\n"
      "# from [experiment] seed = {}.\n\n{}\n",
      version(), torch_version(), utc_now_text(), dir.string(), experiment.settings.seed,
      experiment.effective_toml);
}

// Summarises everything finished so far, from the files.
std::string summarise(const OutputFiles& files,
                      const std::vector<std::unique_ptr<PreparedRun>>& runs,
                      const std::vector<std::string>& eval_names) {
  auto totals = read_totals(files.batches());
  std::map<std::string, RunResults> by_run;
  std::map<std::string, std::vector<std::string>> decoded;
  for (const auto& row : read_csv(files.samples())) {
    auto& r = by_run[row.at("run")];
    decoded[row.at("run")].push_back(row.at("sample"));
    if (r.evals.empty()) {
      for (const auto& name : eval_names) r.evals.emplace_back(name, std::vector<double>{});
    }
    r.rewards.push_back(std::stod(row.at("reward")));
    for (auto& [name, values] : r.evals) values.push_back(std::stod(row.at("eval_" + name)));
  }
  std::vector<RunResults> results;
  std::vector<const PreparedRun*> result_runs;
  std::set<std::string> distance_notes;
  for (const auto& run : runs) {
    const std::string& label = run->plan->label;
    if (!by_run.count(label)) continue;
    RunResults r = std::move(by_run[label]);
    const RunTotals& total = totals[label];
    r.method = run->plan->method;
    r.run = label;
    r.cost = total.cost;
    if (total.diversity_pairs > 0) r.diversity = total.diversity_sum / total.diversity_pairs;
    for (const auto& [name, metric] : run->metrics) {
      r.metrics.emplace_back(name, metric->compute(decoded[label]));
    }
    if (run->target) {
      int64_t count_all = 0;
      for (const auto& [bin, count] : total.bins) count_all += count;
      at::Tensor empirical = at::zeros_like(*run->target);
      double outside = 0;
      for (const auto& [bin, count] : total.bins) {
        if (bin < 0) {
          outside += double(count) / count_all;
        } else {
          empirical[bin] = double(count) / count_all;
        }
      }
      r.target_distance = 0.5 * ((empirical - *run->target).abs().sum().item<double>() + outside);
      distance_notes.insert(fmt::format(
          "target_distance ({}): {} between the run's samples and p_pre(x) exp(r(x)/alpha) / Z "
          "with alpha = target_alpha = {}.\n",
          run->model->domain().name, run->model->exact()->distance_name(),
          run->plan->settings.target_alpha));
    }
    results.push_back(std::move(r));
    result_runs.push_back(run.get());
  }
  // Best-of-N at equal compute is read off the pretrained run of the same
  // sweep context (same model and reward).
  std::vector<const RunResults*> baselines(results.size(), nullptr);
  bool any_baseline = false;
  for (size_t i = 0; i < results.size(); ++i) {
    for (size_t j = 0; j < results.size(); ++j) {
      if (result_runs[j]->plan->method_spec.type == "pretrained" &&
          result_runs[j]->plan->context == result_runs[i]->plan->context) {
        baselines[i] = &results[j];
        any_baseline = true;
        break;
      }
    }
  }
  std::string sections = any_baseline ? compute_matched_section(results, baselines) : "";
  // Image samples decode to PNG data URIs: draw them, one row per run.
  std::vector<std::string> grid_labels;
  std::vector<std::vector<std::string>> grid_rows;
  for (const auto& r : results) {
    grid_labels.push_back(r.run);
    grid_rows.push_back(std::move(decoded[r.run]));
  }
  sections += write_samples_grid(files.dir, grid_labels, grid_rows);
  std::string distance_note;
  for (const auto& note : distance_notes) distance_note += note;
  const std::string notes =
      distance_note +
      "Costs: denoiser_rows = rows through the denoiser, reward_calls = samples scored by the "
      "reward while guiding (the final scoring is not counted), value_calls = rows scored by a "
      "value estimator; reward_ci95 is the normal-approximation 95% interval of the mean; "
      "reward_top10 is the 90th percentile; diversity is the mean pairwise distance between "
      "samples of the same batch (share of differing tokens, or Euclidean distance, unless the "
      "domain defines its own).\n";
  return write_summary(files.dir, results, sections, notes);
}

struct Writers {
  AppendCsv samples, batches, diagnostics;
};

// Decodes, scores and records one batch.
void run_batch(PreparedRun& run, int64_t b, int64_t batches, Writers& out, Progress& progress) {
  const auto& plan = *run.plan;
  const auto& domain = run.model->domain();
  const int64_t first = b * plan.settings.batch_size;
  const int64_t n = std::min(plan.settings.batch_size, plan.settings.samples - first);
  std::vector<std::vector<std::string>> diagnostics;
  DecodeOptions decode;
  decode.samples = n;
  decode.chunk_rows = plan.settings.chunk_rows;
  decode.on_step = [&](int t, int steps) { progress.step(plan.label, b, batches, t, steps); };
  decode.on_report = [&](const std::string& name, int step, double value) {
    diagnostics.push_back(
        {plan.label, std::to_string(b), std::to_string(step), name, fmt::format("{:.9g}", value)});
  };
  const Cost before = run.cost;
  auto generator =
      at::make_generator<at::CPUGeneratorImpl>(batch_seed(plan.settings.seed, plan.label, b));
  at::Tensor x = decode_batch(*run.method, *run.counted_model, *run.counted_reward, run.cost,
                              generator, decode);
  const Cost spent = run.cost - before;

  at::Tensor r = evaluate(*run.reward, plan.reward.type, domain, x, plan.settings.chunk_rows);
  std::vector<at::Tensor> eval_scores;
  for (size_t e = 0; e < run.evals.size(); ++e) {
    eval_scores.push_back(evaluate(*run.evals[e].second, plan.evals[e].second.type, domain, x,
                                   plan.settings.chunk_rows));
  }
  const auto decoded = domain.decode(x);
  for (int64_t i = 0; i < n; ++i) {
    std::vector<std::string> fields{plan.method,       plan.label,
                                    std::to_string(b), std::to_string(first + i),
                                    decoded[i],        fmt::format("{:.9g}", r[i].item<double>())};
    for (const auto& s : eval_scores) fields.push_back(fmt::format("{:.9g}", s[i].item<double>()));
    out.samples.row(fields);
  }
  out.samples.flush();
  for (const auto& row : diagnostics) out.diagnostics.row(row);
  out.diagnostics.flush();

  std::map<int64_t, int64_t> bins;
  if (const ExactDistribution* exact = run.model->exact()) {
    at::Tensor index = exact->bin_of(x);
    for (int64_t i = 0; i < n; ++i) ++bins[index[i].item<int64_t>()];
  }
  const double diversity_sum =
      n > 1 ? domain.pairwise_distances(x, x).triu(1).sum().item<double>() : 0.0;
  // The batch's line comes last: only a recorded batch counts as finished.
  out.batches.row({plan.label, std::to_string(b), std::to_string(n),
                   std::to_string(spent.denoiser_rows), std::to_string(spent.reward_calls),
                   std::to_string(spent.value_calls), fmt::format("{:.6f}", spent.wall_seconds),
                   fmt::format("{:.9g}", diversity_sum), std::to_string(n * (n - 1) / 2),
                   bins_text(bins)});
  out.batches.flush();
  spdlog::info("{}: batch {}/{} done ({} samples, median reward {:.4g}, {:.2f} s)", plan.label,
               b + 1, batches, n,
               median(std::vector<double>(r.data_ptr<double>(), r.data_ptr<double>() + n)),
               spent.wall_seconds);
}

}  // namespace

void run_experiment(const Experiment& experiment, const Registry& registry,
                    const RunOptions& options) {
  const OutputFiles files{output_dir(experiment, options)};
  const auto& dir = files.dir;
  if (options.resume) {
    if (!std::filesystem::exists(dir / "config.toml")) {
      throw InputError(fmt::format("--resume {}: no config.toml there", dir.string()));
    }
  } else if (std::filesystem::exists(files.batches()) &&
             std::filesystem::file_size(files.batches()) > 0) {
    throw InputError(fmt::format(
        "output folder {} already holds results: continue it with `svdd run --resume {}` or "
        "choose another --out",
        dir.string(), dir.string()));
  }
  for (const auto& run : experiment.runs) run.settings.check_device();
  std::filesystem::create_directories(dir);
  LogFile log(dir / "run.log");

  const int64_t threads = experiment.settings.apply_threads();
  spdlog::info("svdd {} (libtorch {}), {} runs, {} threads, output {}", version(), torch_version(),
               experiment.runs.size(), threads, dir.string());

  auto runs = prepare(experiment, registry);
  if (!options.resume) write_config(dir, experiment);

  // What has already finished (resume).
  std::set<std::pair<std::string, int64_t>> finished;
  if (std::filesystem::exists(files.batches())) {
    for (const auto& row : read_csv(files.batches())) {
      finished.insert({row.at("run"), std::stoll(row.at("batch"))});
    }
  }
  truncate_to_finished(files.samples(), finished);
  truncate_to_finished(files.diagnostics(), finished);

  std::vector<std::string> eval_names;
  std::vector<std::string> sample_header{"method", "run", "batch", "index", "sample", "reward"};
  for (const auto& [name, oracle] : runs.front()->evals) {
    eval_names.push_back(name);
    sample_header.push_back("eval_" + name);
  }
  Writers out{AppendCsv(files.samples(), sample_header), AppendCsv(files.batches(), kBatchHeader),
              AppendCsv(files.diagnostics(), {"run", "batch", "step", "name", "value"})};
  Progress progress(options.progress);

  try {
    for (auto& run : runs) {
      const auto& plan = *run->plan;
      const int64_t batches =
          (plan.settings.samples + plan.settings.batch_size - 1) / plan.settings.batch_size;
      bool pending = false;
      for (int64_t b = 0; b < batches; ++b) pending |= !finished.count({plan.label, b});
      if (const ExactDistribution* exact = run->model->exact()) {
        run->target =
            target_bins(*exact, *run->reward, run->model->domain(), plan.settings.target_alpha,
                        plan.settings.chunk_rows, plan.reward.type);
      }
      if (!pending) continue;
      // Rebuilt now that every earlier run has finished (compute matching).
      const auto totals = read_totals(files.batches());
      build_method(*run, runs, registry, &totals);
      for (int64_t b = 0; b < batches; ++b) {
        if (!finished.count({plan.label, b})) run_batch(*run, b, batches, out, progress);
      }
      progress.done();
    }
  } catch (...) {
    progress.done();
    out.samples.close();
    out.batches.close();
    out.diagnostics.close();
    try {
      summarise(files, runs, eval_names);
      spdlog::error(
          "stopped; the finished batches are kept in {} (summary of them written); "
          "continue with `svdd run --resume {}`",
          dir.string(), dir.string());
    } catch (...) {
    }
    throw;
  }
  out.samples.close();
  out.batches.close();
  out.diagnostics.close();
  fmt::print("{}\n", summarise(files, runs, eval_names));
  spdlog::info("results in {}", dir.string());
}

}  // namespace svdd
