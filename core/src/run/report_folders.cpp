// `svdd report` over run folders (see svdd/run/report.hpp): rebuilds what
// only components know (the domain's pictures, the metrics' spectra) from
// each folder's config.toml, then writes the report and table1.
#include <fmt/format.h>

#include <memory>

#include "report/report.hpp"
#include "svdd/config/experiment.hpp"
#include "svdd/diffusion_model.hpp"
#include "svdd/error.hpp"
#include "svdd/run/report.hpp"
#include "svdd/util/log.hpp"

namespace svdd {

void report_folders(const std::vector<std::filesystem::path>& dirs, std::filesystem::path out,
                    const Registry& registry) {
  if (dirs.empty()) throw InputError("svdd report needs at least one run folder (see svdd help)");
  if (out.empty()) {
    if (dirs.size() > 1) {
      throw InputError("svdd report over several folders needs --out DIR for the report");
    }
    out = dirs.front();
  }
  std::vector<std::shared_ptr<DiffusionModel>> models;
  std::vector<std::shared_ptr<SampleSetMetric>> metrics;
  std::vector<ReportSource> sources;
  std::filesystem::path data_dir = default_data_dir();
  for (const auto& dir : dirs) {
    const auto config = dir / "config.toml";
    if (!std::filesystem::is_regular_file(config)) {
      throw InputError(
          fmt::format("svdd report: {} is not a run folder (no config.toml)", dir.string()));
    }
    const Experiment experiment = load_experiment(config, {}, registry);
    const RunPlan& plan = experiment.runs.front();
    BuildContext build;
    build.device = plan.settings.device;
    build.chunk_rows = plan.settings.chunk_rows;
    build.data_dir = plan.settings.data_dir;
    build.registry = &registry;
    data_dir = plan.settings.data_dir;
    ReportSource source{dir, experiment.settings.name, experiment.report, nullptr, {}, {}};
    for (const auto& run : experiment.runs) source.method_types[run.method] = run.method_spec.type;
    models.push_back(registry.make<ComponentKind::model>(plan.model, build));
    source.domain = &models.back()->domain();
    for (const auto& [name, spec] : plan.metrics) {
      metrics.push_back(registry.make<ComponentKind::metric>(spec, build, *source.domain));
      source.metrics.emplace_back(name, metrics.back().get());
    }
    sources.push_back(std::move(source));
  }
  const ReportFiles files = write_report(sources, out, data_dir);
  for (const auto& note : files.notes) logger("run")->info("report: {}", note);
  fmt::print("report: {}/report.html ({} figures from {} folders), {}/table1.md\n", out.string(),
             files.figures, sources.size(), out.string());
}

}  // namespace svdd
