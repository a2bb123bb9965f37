// `svdd score`: designs made elsewhere, scored like a run's samples (see
// svdd/run/score.hpp). The components are prepared as for a run, the rows
// are written by the same appenders, and the summary comes from the same
// files, so a scored input is one more row of a run's table.
#include "svdd/run/score.hpp"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include <chrono>
#include <fstream>
#include <map>

#include "io/file_writing.hpp"
#include "run/folder_lock.hpp"
#include "run/prepare.hpp"
#include "run/progress.hpp"
#include "run/result_files.hpp"
#include "run/resume.hpp"
#include "run/summary.hpp"
#include "svdd/error.hpp"
#include "svdd/io/table_file.hpp"
#include "svdd/util/log.hpp"
#include "svdd/util/stop_signals.hpp"

namespace svdd {
namespace {

// A design as its file gives it.
struct Design {
  std::string text;
  size_t line = 0;
};

// The designs of one summary row.
struct DesignGroup {
  std::string label;
  std::filesystem::path file;
  std::vector<Design> designs;
};

// "designs.csv.gz" -> "designs".
std::string default_label(const std::filesystem::path& file) {
  std::filesystem::path name = file.filename();
  if (name.extension() == ".gz") name = name.stem();
  return name.stem().string();
}

std::vector<Design> read_design_lines(const std::filesystem::path& file) {
  std::ifstream in(file);
  if (!in) throw InputError(fmt::format("--input {}: cannot read it", file.string()));
  std::vector<Design> designs;
  std::string text;
  for (size_t line = 1; std::getline(in, text); ++line) {
    if (!text.empty() && text.back() == '\r') text.pop_back();
    if (!text.empty()) designs.push_back({text, line});
  }
  return designs;
}

std::vector<DesignGroup> read_design_groups(const ScoreOptions& options) {
  if (options.inputs.empty()) throw InputError("svdd score needs at least one --input");
  if (!options.labels.empty() && options.labels.size() != options.inputs.size()) {
    throw InputError(fmt::format("--label: {} labels for {} inputs; give one per --input or none",
                                 options.labels.size(), options.inputs.size()));
  }
  if (!options.group.empty() && options.column.empty()) {
    throw InputError("--group needs --column, the column of the designs");
  }
  std::vector<DesignGroup> groups;
  for (size_t i = 0; i < options.inputs.size(); ++i) {
    const auto& file = options.inputs[i];
    if (!std::filesystem::is_regular_file(file)) {
      throw InputError(fmt::format("--input {}: {}", file.string(),
                                   std::filesystem::exists(file) ? "not a file" : "not found"));
    }
    const std::string label = options.labels.empty() ? default_label(file) : options.labels[i];
    if (options.column.empty()) {
      groups.push_back({label, file, read_design_lines(file)});
      continue;
    }
    const Table table = Table::read(file);
    const auto designs = table.column(options.column);
    const auto keys =
        options.group.empty() ? std::vector<std::string>{} : table.column(options.group);
    std::map<std::string, size_t> group_of;  // group value -> index in groups
    for (int64_t r = 0; r < table.rows(); ++r) {
      std::string row_label = label;
      if (!keys.empty()) {
        row_label = options.inputs.size() == 1 ? keys[r] : label + ":" + keys[r];
      }
      auto [it, fresh] = group_of.emplace(row_label, groups.size());
      if (fresh) groups.push_back({row_label, file, {}});
      groups[it->second].designs.push_back({designs[r], table.line(r)});
    }
  }
  std::map<std::string, std::filesystem::path> seen;
  for (const auto& group : groups) {
    for (unsigned char c : group.label) {
      if (c < 0x20 || c == 0x7f) {
        throw InputError(fmt::format("--input {}: the row name '{}' holds a control character",
                                     group.file.string(), group.label));
      }
    }
    if (group.label.empty()) {
      throw InputError(
          fmt::format("--input {}: a row needs a name (--label)", group.file.string()));
    }
    if (auto [it, fresh] = seen.emplace(group.label, group.file); !fresh) {
      throw InputError(
          fmt::format("--input {} and {} both give rows named '{}': name them with --label",
                      it->second.string(), group.file.string(), group.label));
    }
    if (group.designs.empty()) {
      throw InputError(
          fmt::format("--input {}: no designs for '{}'", group.file.string(), group.label));
    }
  }
  return groups;
}

// Reports designs the domain cannot encode: the first few in full, then
// how many more.
class InvalidDesigns {
 public:
  void report(const DesignGroup& group, const Design& design, const std::string& domain,
              const std::string& problem) {
    if (++count_ <= kShown) {
      logger("run")->warn("{}:{}: not a sample of {}: {}; scored as invalid", group.file.string(),
                          design.line, domain, problem);
    }
  }
  ~InvalidDesigns() {
    if (count_ > kShown) {
      logger("run")->warn("{} more designs were not samples of the domain (scored as invalid)",
                          count_ - kShown);
    }
  }

 private:
  static constexpr int64_t kShown = 20;
  int64_t count_ = 0;
};

// Scores one batch of designs and appends its rows and its batches.csv line.
void score_batch(const PreparedRun& run, const DesignGroup& group, int64_t b, AppendCsv& samples,
                 AppendCsv& batches, InvalidDesigns& invalid) {
  const auto& plan = *run.plan;
  const Domain& domain = run.model->domain();
  const auto start = std::chrono::steady_clock::now();
  const int64_t first = b * plan.settings.batch_size;
  const int64_t n = std::min<int64_t>(plan.settings.batch_size,
                                      static_cast<int64_t>(group.designs.size()) - first);
  std::vector<at::Tensor> encoded;
  std::vector<int64_t> valid_row(n, -1);  // row -> index among the encoded, or -1
  for (int64_t i = 0; i < n; ++i) {
    const Design& design = group.designs[first + i];
    Encoded e = domain.encode(design.text);
    if (!e.sample.defined()) {
      invalid.report(group, design, domain.name, e.problem);
      continue;
    }
    valid_row[i] = static_cast<int64_t>(encoded.size());
    encoded.push_back(std::move(e.sample));
  }
  const int64_t valid = static_cast<int64_t>(encoded.size());
  at::Tensor x, reward;
  std::vector<at::Tensor> evals;
  std::vector<std::string> decoded;
  if (valid > 0) {
    x = at::stack(encoded).to(at::Device(plan.settings.device));
    reward = evaluate(*run.reward, plan.reward.type, domain, x, plan.settings.chunk_rows);
    for (size_t e = 0; e < run.evals.size(); ++e) {
      evals.push_back(evaluate(*run.evals[e].second, plan.evals[e].second.type, domain, x,
                               plan.settings.chunk_rows));
    }
    decoded = domain.decode(x);
  }
  for (int64_t i = 0; i < n; ++i) {
    const int64_t k = valid_row[i];
    // A valid design is written in its domain's own decoded form (canonical
    // SMILES, upper-case letters), an invalid one as given.
    std::vector<std::string> fields{plan.method, plan.label, std::to_string(b),
                                    std::to_string(first + i),
                                    k >= 0 ? decoded[k] : group.designs[first + i].text};
    fields.push_back(
        fmt::format("{:.9g}", k >= 0 ? reward[k].item<double>() : run.reward->invalid_value()));
    for (size_t e = 0; e < run.evals.size(); ++e) {
      fields.push_back(fmt::format(
          "{:.9g}", k >= 0 ? evals[e][k].item<double>() : run.evals[e].second->invalid_value()));
    }
    samples.row(fields);
  }
  samples.flush();
  // Nothing was decoded: the costs stay 0.
  BatchRecord record;
  record.run = plan.label;
  record.batch = b;
  record.samples = n;
  if (valid > 0) add_batch_statistics(record, domain, run.model->exact(), x);
  if (run.model->exact() && n > valid) {
    record.bins[-1] += n - valid;  // invalid designs lie outside the support
  }
  record.cost.wall_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  batches.row(batch_line(record));
  batches.flush();
}

}  // namespace

void score_designs(const Experiment& experiment, const Registry& registry,
                   const ScoreOptions& options) {
  for (const auto& run : experiment.runs) {
    if (!run.context.empty()) {
      throw InputError(fmt::format(
          "{}: svdd score uses one model and one reward, and this file sweeps {} for every "
          "method; score with a file without that sweep",
          experiment.file.string(), run.context));
    }
  }
  const auto groups = read_design_groups(options);
  const OutputFiles files{options.out_dir.empty() ? std::filesystem::path("runs") /
                                                        (experiment.settings.name + "_score")
                                                  : options.out_dir};
  for (const auto& run : experiment.runs) run.settings.check_device();
  make_output_folder(files.dir);
  const FolderLock lock(files.dir);
  if (std::filesystem::exists(files.batches()) && std::filesystem::file_size(files.batches()) > 0) {
    throw InputError(fmt::format("output folder {} already holds results: choose another --out",
                                 files.dir.string()));
  }
  clear_unfinished_results(files);
  LogFile log(files.dir / "run.log");
  const int64_t threads = experiment.settings.apply_threads();
  logger("run")->info("svdd score: {} rows of designs, {} threads, output {}", groups.size(),
                      threads, files.dir.string());

  // The experiment's components, built and checked as for a run; every
  // row shares the first run's model, rewards and metrics.
  const PreparedRuns prepared = prepare(experiment, registry);
  const PreparedRun& base = *prepared.front();
  std::vector<RunPlan> plans(groups.size(), *base.plan);
  PreparedRuns rows;
  for (size_t g = 0; g < groups.size(); ++g) {
    RunPlan& plan = plans[g];
    plan.method = plan.label = plan.base_label = groups[g].label;
    plan.settings.seeds.clear();
    plan.context.clear();
    plan.method_spec = ComponentSpec{"score", nullptr};
    auto row = std::make_unique<PreparedRun>();
    row->plan = &plan;
    row->index = g;
    row->build = base.build;
    row->model = base.model;
    row->reward = base.reward;
    row->evals = base.evals;
    row->metrics = base.metrics;
    if (const ExactDistribution* exact = base.model->exact()) {
      row->target =
          target_bins(*exact, *base.reward, base.model->domain(), plan.settings.target_alpha,
                      plan.settings.chunk_rows, plan.reward.type);
    }
    rows.push_back(std::move(row));
  }
  write_config(files.dir, experiment);
  record_started_config(files.dir, experiment);

  std::vector<std::string> eval_names;
  for (const auto& [name, oracle] : base.evals) eval_names.push_back(name);
  AppendCsv samples(files.samples(), sample_header(eval_names)),
      batches(files.batches(), kBatchHeader);
  {
    InvalidDesigns invalid;
    for (size_t g = 0; g < groups.size(); ++g) {
      const int64_t size = static_cast<int64_t>(groups[g].designs.size());
      const int64_t batch_size = plans[g].settings.batch_size;
      for (int64_t b = 0; b * batch_size < size; ++b) {
        if (const int signal = stop_requested()) {
          throw Stopped(signal, fmt::format("stopped by {}; the rows scored so far are in {}",
                                            signal_name(signal), files.dir.string()));
        }
        score_batch(*rows[g], groups[g], b, samples, batches, invalid);
      }
      logger("run")->info("{}: {} designs scored", groups[g].label, size);
    }
  }
  samples.close();
  batches.close();
  fmt::print("{}\n", summarise(files, rows, eval_names));
  fmt::print("{}\n", write_run_report(files, rows, experiment.settings.name, experiment.report));
  logger("run")->info("results in {}", files.dir.string());
}

}  // namespace svdd
