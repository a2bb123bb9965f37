// Running an experiment: prepare every run first (so bad input fails before
// any work), then decode batch by batch, appending results as each batch
// finishes, and summarise from the files (see runner.hpp). The parts live
// beside this file: prepare (components, compute matching), result_files
// (appending, resume), summary (statistics, pictures), progress.
#include "svdd/run/runner.hpp"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include <set>

#include "io/file_writing.hpp"
#include "run/folder_lock.hpp"
#include "run/prepare.hpp"
#include "run/progress.hpp"
#include "run/result_files.hpp"
#include "run/resume.hpp"
#include "run/summary.hpp"
#include "svdd/error.hpp"
#include "svdd/util/log.hpp"
#include "svdd/util/seeding.hpp"
#include "svdd/util/stop_signals.hpp"
#include "svdd/version.hpp"

namespace svdd {
namespace {

// Every batch has its own generator, derived from the master seed, the run
// label and the batch index: a batch gives the same samples whether it runs
// first, last, or after a resume. Under [experiment] seeds the label is the
// one without the seed, so that a replicate equals a run of that seed.
uint64_t batch_seed(int64_t seed, const std::string& label, int64_t batch) {
  return stream_seed(seed, label, batch);
}

std::filesystem::path output_dir(const Experiment& experiment, const RunOptions& options) {
  if (!options.out_dir.empty()) return options.out_dir;
  if (!experiment.settings.output.empty()) return experiment.settings.output;
  return std::filesystem::path("runs") / experiment.settings.name;
}

// Refuses to start a fresh run over finished results, or to resume a folder
// that holds no run.
void check_output_folder(const OutputFiles& files, bool resume) {
  const auto& dir = files.dir;
  if (resume) {
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
}

struct Writers {
  AppendCsv samples, batches, diagnostics;
  void close() {
    samples.close();
    batches.close();
    diagnostics.close();
  }
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
  decode.on_step = [&](int t, int steps) {
    stop_if_requested("");  // the runner says what was kept
    progress.step(plan.label, b, batches, t, steps);
  };
  decode.on_report = [&](const std::string& name, int step, double value) {
    diagnostics.push_back(
        {plan.label, std::to_string(b), std::to_string(step), name, fmt::format("{:.9g}", value)});
  };
  const Cost before = run.cost;
  auto generator =
      at::make_generator<at::CPUGeneratorImpl>(batch_seed(plan.settings.seed, plan.base_label, b));
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

  BatchRecord record;
  record.run = plan.label;
  record.batch = b;
  record.samples = n;
  record.cost = spent;
  add_batch_statistics(record, domain, run.model->exact(), x);
  // The batch's line comes last: only a recorded batch counts as finished.
  out.batches.row(batch_line(record));
  out.batches.flush();
  logger("run")->info("{}: batch {}/{} done ({} samples, median reward {:.4g}, {:.2f} s)",
                      plan.label, b + 1, batches, n,
                      median(std::vector<double>(r.data_ptr<double>(), r.data_ptr<double>() + n)),
                      spent.wall_seconds);
}

// Decodes every unfinished batch of every run, in the experiment's order.
void run_pending_batches(PreparedRuns& runs, const Registry& registry, const OutputFiles& files,
                         const std::set<std::pair<std::string, int64_t>>& finished, Writers& out,
                         Progress& progress) {
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
      if (finished.count({plan.label, b})) continue;
      stop_if_requested("");
      try {
        run_batch(*run, b, batches, out, progress);
      } catch (const Error&) {
        throw;
      } catch (const std::exception& e) {
        // A libtorch error (a multinomial over a NaN model's probabilities, an
        // allocation that fails) does not say where it came from; the run does.
        throw RuntimeFailure(fmt::format("run '{}' (model '{}', method '{}'), batch {}: {}",
                                         plan.label, plan.model.type, plan.method_spec.type, b,
                                         error_message(e)));
      }
    }
    progress.done();
  }
}

}  // namespace

void run_experiment(const Experiment& experiment, const Registry& registry,
                    const RunOptions& options) {
  const OutputFiles files{output_dir(experiment, options)};
  const auto& dir = files.dir;
  if (options.resume && !std::filesystem::is_directory(dir)) check_output_folder(files, true);
  for (const auto& run : experiment.runs) run.settings.check_device();
  make_output_folder(dir);
  // Held until the run ends, before the folder is looked at: two runs that
  // start together cannot both find it empty.
  const FolderLock lock(dir);
  check_output_folder(files, options.resume);
  LogFile log(dir / "run.log");

  const int64_t threads = experiment.settings.apply_threads();
  logger("run")->info("svdd {} (libtorch {}), {} runs, {} threads, output {}", version(),
                      torch_version(), experiment.runs.size(), threads, dir.string());

  if (options.resume) check_started_config(dir, experiment);
  auto runs = prepare(experiment, registry);

  std::vector<std::string> eval_names;
  for (const auto& [name, oracle] : runs.front()->evals) eval_names.push_back(name);
  const std::vector<std::string> samples_columns = sample_header(eval_names);
  // What has already finished whole (resume).
  std::set<std::pair<std::string, int64_t>> finished;
  if (options.resume) {
    finished = reconcile_results(files, experiment, samples_columns);
  } else {
    clear_unfinished_results(files);
    write_config(dir, experiment);
    record_started_config(dir, experiment);
  }
  Writers out{AppendCsv(files.samples(), samples_columns), AppendCsv(files.batches(), kBatchHeader),
              AppendCsv(files.diagnostics(), {"run", "batch", "step", "name", "value"})};
  Progress progress(options.progress);

  try {
    run_pending_batches(runs, registry, files, finished, out, progress);
  } catch (...) {
    progress.done();
    out.close();
    std::string kept = "the finished batches are kept";
    try {
      summarise(files, runs, eval_names);
      write_run_report(files, runs, experiment.settings.name, experiment.report);
      kept = fmt::format(
          "{} finished batches are kept in {} (summary of them written); continue with `svdd run "
          "--resume {}`",
          read_batch_records(files.batches()).size(), dir.string(), dir.string());
    } catch (...) {
    }
    // A worker a Ctrl-C also reached may fail first: the signal is the cause.
    if (const int signal = stop_requested()) {
      throw Stopped(signal, fmt::format("stopped by {}: {}", signal_name(signal), kept));
    }
    logger("run")->error("stopped; {}", kept);
    throw;
  }
  out.close();
  fmt::print("{}\n", summarise(files, runs, eval_names));
  fmt::print("{}\n", write_run_report(files, runs, experiment.settings.name, experiment.report));
  logger("run")->info("results in {}", dir.string());
}

}  // namespace svdd
