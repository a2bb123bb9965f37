// Running an experiment: build every component first (so bad input fails
// before any work), then decode batch by batch, appending results as each
// batch finishes, and summarise from the files (see runner.hpp).
#include "svdd/runner.hpp"

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

#include "csv.hpp"
#include "summary.hpp"
#include "svdd/decoding_loop.hpp"
#include "svdd/error.hpp"
#include "svdd/version.hpp"

namespace svdd {
namespace {

uint64_t splitmix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

uint64_t fnv1a(const std::string& text) {
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : text) h = (h ^ c) * 1099511628211ULL;
  return h;
}

// Every batch has its own generator, derived from the master seed, the run
// label and the batch index: a batch gives the same samples whether it runs
// first, last, or after a resume.
uint64_t batch_seed(int64_t seed, const std::string& label, int64_t batch) {
  return splitmix64(splitmix64(static_cast<uint64_t>(seed) ^ splitmix64(fnv1a(label))) +
                    static_cast<uint64_t>(batch));
}

struct PreparedRun {
  const RunPlan* plan = nullptr;
  std::shared_ptr<BuildContext> build = std::make_shared<BuildContext>();
  std::shared_ptr<DiffusionModel> model;
  std::shared_ptr<RewardOracle> reward;
  std::vector<std::pair<std::string, std::shared_ptr<RewardOracle>>> evals;
  std::unique_ptr<Cost> cost = std::make_unique<Cost>();
  std::unique_ptr<DiffusionModel> counted_model;
  std::unique_ptr<RewardOracle> counted_reward;
  std::unique_ptr<Method> method;
  std::optional<at::Tensor> target;  // [bins] target probabilities, toys only
};

// Builds every component of every run. Models and rewards with identical
// effective tables are built once and shared.
std::vector<PreparedRun> prepare(const Experiment& experiment, const Registry& registry) {
  std::map<std::string, std::shared_ptr<DiffusionModel>> models;
  std::map<std::string, std::shared_ptr<RewardOracle>> rewards;
  std::vector<PreparedRun> runs;
  for (const auto& plan : experiment.runs) {
    PreparedRun run;
    run.plan = &plan;
    run.build->device = plan.settings.device;
    run.build->chunk_rows = plan.settings.chunk_rows;
    run.build->data_dir = plan.settings.data_dir;
    const std::string context = fmt::format("{}|{}", run.build->device, run.build->chunk_rows);
    const std::string model_key =
        plan.model.type + registry.effective_toml(ComponentKind::model, plan.model) + context;
    auto& model = models[model_key];
    if (!model) model = registry.make_model(plan.model, *run.build);
    run.model = model;
    auto reward_for = [&](const ComponentSpec& spec) {
      const std::string key =
          model_key + "|" + spec.type + registry.effective_toml(ComponentKind::reward, spec);
      auto& reward = rewards[key];
      if (!reward) reward = registry.make_reward(spec, *run.build, model->domain());
      return reward;
    };
    run.reward = reward_for(plan.reward);
    for (const auto& [name, spec] : plan.evals) run.evals.emplace_back(name, reward_for(spec));
    run.counted_model = counted(*run.model, *run.cost);
    run.counted_reward = counted(*run.reward, run.model->domain(), *run.cost,
                                 plan.settings.chunk_rows, plan.reward.type);
    MethodDeps deps{*run.counted_model, *run.counted_reward,
                    [&](const ComponentSpec& spec, double alpha) {
                      return registry.make_value(
                          spec,
                          ValueDeps{*run.counted_model, *run.counted_reward, alpha, *run.build});
                    },
                    *run.build};
    run.method = registry.make_method(plan.method_spec, deps);
    runs.push_back(std::move(run));
  }
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

std::string now_text() {
  std::time_t t = std::time(nullptr);
  char buffer[64];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buffer;
}

struct BatchRecord {
  Cost cost;
  std::map<int64_t, int64_t> bins;  // bin -> count (-1: outside)
};

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

const std::vector<std::string> kBatchHeader{"run",           "batch",        "samples",
                                            "denoiser_rows", "reward_calls", "value_calls",
                                            "wall_seconds",  "bins"};

// Keeps only the sample rows of batches recorded as finished (a crash can
// leave rows of the batch in flight).
void truncate_to_finished(const std::filesystem::path& samples_file,
                          const std::set<std::pair<std::string, int64_t>>& finished) {
  if (!std::filesystem::exists(samples_file)) return;
  std::ifstream in(samples_file);
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
  std::ofstream out(samples_file, std::ios::trunc);
  out << header << "\n" << kept;
  if (dropped) spdlog::info("resume: dropped {} sample rows of unfinished batches", dropped);
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

void check_device(const std::string& device) {
  if (device.rfind("cuda", 0) == 0 && !at::hasCUDA()) {
    throw InputError(fmt::format(
        "[experiment] device = \"{}\": this libtorch ({}) was built without CUDA or sees no GPU; "
        "use device = \"cpu\"",
        device, torch_version()));
  }
}

}  // namespace

void run_experiment(const Experiment& experiment, const Registry& registry,
                    const RunOptions& options) {
  const auto dir = output_dir(experiment, options);
  const auto samples_file = dir / "samples.csv";
  const auto batches_file = dir / "batches.csv";
  if (options.resume) {
    if (!std::filesystem::exists(dir / "config.toml")) {
      throw InputError(fmt::format("--resume {}: no config.toml there", dir.string()));
    }
  } else if (std::filesystem::exists(batches_file) &&
             std::filesystem::file_size(batches_file) > 0) {
    throw InputError(fmt::format(
        "output folder {} already holds results: continue it with `svdd run --resume {}` or "
        "choose another --out",
        dir.string(), dir.string()));
  }
  for (const auto& run : experiment.runs) check_device(run.settings.device);
  std::filesystem::create_directories(dir);
  LogFile log(dir / "run.log");

  const int64_t threads = experiment.settings.threads > 0
                              ? experiment.settings.threads
                              : std::max<int64_t>(1, std::thread::hardware_concurrency());
  at::set_num_threads(static_cast<int>(threads));

  spdlog::info("svdd {} (libtorch {}), {} runs, {} threads, output {}", version(), torch_version(),
               experiment.runs.size(), threads, dir.string());
  std::vector<PreparedRun> runs = prepare(experiment, registry);

  if (!options.resume) {
    std::ofstream config(dir / "config.toml");
    config << fmt::format(
        "# Effective configuration of this run, written by svdd {} (libtorch {}) at {}.\n"
        "# Every component's defaults are filled in. Rerun exactly with\n"
        "#   svdd run {}/config.toml --out <new folder>\n"
        "# Seeds: the generator of batch b of run R is seeded with\n"
        "#   splitmix64(splitmix64(seed ^ splitmix64(fnv1a(R))) + b)\n"
        "# from [experiment] seed = {}.\n\n{}\n",
        version(), torch_version(), now_text(), dir.string(), experiment.settings.seed,
        experiment.effective_toml);
  }

  // What has already finished (resume).
  std::set<std::pair<std::string, int64_t>> finished;
  if (std::filesystem::exists(batches_file)) {
    for (const auto& row : read_csv(batches_file))
      finished.insert({row.at("run"), std::stoll(row.at("batch"))});
  }
  truncate_to_finished(samples_file, finished);

  std::vector<std::string> header{"method", "run", "batch", "index", "sample", "reward"};
  for (const auto& [name, oracle] : runs.front().evals) header.push_back("eval_" + name);
  const bool new_samples = !std::filesystem::exists(samples_file);
  std::ofstream samples_out(samples_file, std::ios::app);
  if (new_samples) samples_out << csv_line(header) << "\n" << std::flush;
  const bool new_batches = !std::filesystem::exists(batches_file);
  std::ofstream batches_out(batches_file, std::ios::app);
  if (new_batches) batches_out << csv_line(kBatchHeader) << "\n" << std::flush;

  Progress progress(options.progress);
  auto summarise = [&] {
    std::map<std::string, BatchRecord> totals;
    for (const auto& row : read_csv(batches_file)) {
      auto& total = totals[row.at("run")];
      total.cost += Cost{std::stoll(row.at("denoiser_rows")), std::stoll(row.at("reward_calls")),
                         std::stoll(row.at("value_calls")), std::stod(row.at("wall_seconds"))};
      for (const auto& [bin, count] : parse_bins(row.at("bins"))) total.bins[bin] += count;
    }
    std::map<std::string, RunResults> by_run;
    for (const auto& row : read_csv(samples_file)) {
      auto& r = by_run[row.at("run")];
      r.rewards.push_back(std::stod(row.at("reward")));
      for (size_t c = 6; c < header.size(); ++c) {
        const std::string name = header[c].substr(5);
        if (r.evals.size() < header.size() - 6) r.evals.emplace_back(name, std::vector<double>{});
        r.evals[c - 6].second.push_back(std::stod(row.at(header[c])));
      }
    }
    std::vector<RunResults> results;
    std::string distance_note;
    for (auto& run : runs) {
      const std::string& label = run.plan->label;
      if (!by_run.count(label)) continue;
      RunResults r = std::move(by_run[label]);
      r.method = run.plan->method;
      r.run = label;
      r.cost = totals[label].cost;
      if (run.target) {
        const auto& counts = totals[label].bins;
        int64_t total = 0;
        for (const auto& [bin, count] : counts) total += count;
        at::Tensor empirical = at::zeros_like(*run.target);
        double outside = 0;
        for (const auto& [bin, count] : counts) {
          if (bin < 0)
            outside += double(count) / total;
          else
            empirical[bin] = double(count) / total;
        }
        r.target_distance = 0.5 * ((empirical - *run.target).abs().sum().item<double>() + outside);
        distance_note = fmt::format(
            "target_distance: {} between the run's samples and p_pre(x) exp(r(x)/alpha) / Z with "
            "alpha = target_alpha = {} from [experiment].\n",
            run.model->exact()->distance_name(), run.plan->settings.target_alpha);
      }
      results.push_back(std::move(r));
    }
    const std::string notes =
        distance_note +
        "Costs: denoiser_rows = rows through the denoiser, reward_calls = samples scored by the "
        "reward while guiding (the final scoring is not counted), value_calls = rows scored by a "
        "value estimator; reward_ci95 is the normal-approximation 95% interval of the mean; "
        "reward_top10 is the 90th percentile.\n";
    return write_summary(dir, results, notes);
  };

  try {
    for (auto& run : runs) {
      const auto& plan = *run.plan;
      const auto& domain = run.model->domain();
      if (const ExactDistribution* exact = run.model->exact()) {
        run.target = target_bins(*exact, *run.reward, domain, plan.settings.target_alpha,
                                 plan.settings.chunk_rows, plan.reward.type);
      }
      const int64_t batches =
          (plan.settings.samples + plan.settings.batch_size - 1) / plan.settings.batch_size;
      for (int64_t b = 0; b < batches; ++b) {
        if (finished.count({plan.label, b})) continue;
        const int64_t first = b * plan.settings.batch_size;
        const int64_t n = std::min(plan.settings.batch_size, plan.settings.samples - first);
        DecodeOptions decode;
        decode.samples = n;
        decode.chunk_rows = plan.settings.chunk_rows;
        decode.on_step = [&](int t, int steps) { progress.step(plan.label, b, batches, t, steps); };
        const Cost before = *run.cost;
        auto generator =
            at::make_generator<at::CPUGeneratorImpl>(batch_seed(plan.settings.seed, plan.label, b));
        at::Tensor x = decode_batch(*run.method, *run.counted_model, *run.counted_reward, *run.cost,
                                    generator, decode);
        const Cost spent = *run.cost - before;

        at::Tensor r = evaluate(*run.reward, plan.reward.type, domain, x, plan.settings.chunk_rows);
        std::vector<at::Tensor> eval_scores;
        for (size_t e = 0; e < run.evals.size(); ++e) {
          eval_scores.push_back(evaluate(*run.evals[e].second, plan.evals[e].second.type, domain, x,
                                         plan.settings.chunk_rows));
        }
        const auto decoded = domain.decode(x);
        for (int64_t i = 0; i < n; ++i) {
          std::vector<std::string> fields{
              plan.method,       plan.label,
              std::to_string(b), std::to_string(first + i),
              decoded[i],        fmt::format("{:.9g}", r[i].item<double>())};
          for (const auto& s : eval_scores)
            fields.push_back(fmt::format("{:.9g}", s[i].item<double>()));
          samples_out << csv_line(fields) << "\n";
        }
        samples_out.flush();
        BatchRecord record{spent, {}};
        if (const ExactDistribution* exact = run.model->exact()) {
          at::Tensor bins = exact->bin_of(x);
          for (int64_t i = 0; i < n; ++i) ++record.bins[bins[i].item<int64_t>()];
        }
        batches_out << csv_line({plan.label, std::to_string(b), std::to_string(n),
                                 std::to_string(spent.denoiser_rows),
                                 std::to_string(spent.reward_calls),
                                 std::to_string(spent.value_calls),
                                 fmt::format("{:.6f}", spent.wall_seconds), bins_text(record.bins)})
                    << "\n"
                    << std::flush;
        if (!samples_out || !batches_out)
          throw RuntimeFailure("cannot write results to " + dir.string());
        spdlog::info("{}: batch {}/{} done ({} samples, median reward {:.4g}, {:.2f} s)",
                     plan.label, b + 1, batches, n,
                     median(std::vector<double>(r.data_ptr<double>(), r.data_ptr<double>() + n)),
                     spent.wall_seconds);
      }
      progress.done();
    }
  } catch (...) {
    progress.done();
    samples_out.close();
    batches_out.close();
    try {
      summarise();
      spdlog::error(
          "stopped; the finished batches are kept in {} (summary of them written); "
          "continue with `svdd run --resume {}`",
          dir.string(), dir.string());
    } catch (...) {
    }
    throw;
  }
  samples_out.close();
  batches_out.close();
  const std::string table = summarise();
  fmt::print("{}\n", table);
  spdlog::info("results in {}", dir.string());
}

}  // namespace svdd
