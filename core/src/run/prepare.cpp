// Preparing the runs of an experiment (see prepare.hpp).
#include "run/prepare.hpp"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>
#include <fmt/format.h>
#include <unistd.h>

#include "svdd/error.hpp"

namespace svdd {

namespace {

// Refuses a run whose counts cannot fit: every step holds the batch's
// particles times their candidates, rows of the domain's size, at once
// (network calls are chunked, the candidates are not). Computed in floating
// point, so that a product of counts that would overflow int64 is refused
// too. The estimate is a lower bound: a refused run could never have run.
void check_step_memory(const PreparedRun& run) {
  const auto& plan = *run.plan;
  const Domain& domain = run.model->domain();
  long double row_bytes = domain.discrete() ? sizeof(int64_t) : sizeof(float);
  for (const int64_t d : domain.shape) row_bytes *= static_cast<long double>(d);
  const long double rows = static_cast<long double>(plan.settings.batch_size) *
                           static_cast<long double>(run.method->particles_per_sample()) *
                           static_cast<long double>(run.method->candidates_per_particle());
  const long double needed = rows * row_bytes;
  const long double memory = static_cast<long double>(sysconf(_SC_PHYS_PAGES)) *
                             static_cast<long double>(sysconf(_SC_PAGE_SIZE));
  if (needed <= memory) return;
  const std::string method_table =
      plan.method_spec.config ? plan.method_spec.config->where() : plan.method_spec.type;
  throw InputError(fmt::format(
      "{}: run '{}': each step holds batch_size {} x {} particles per sample x {} candidates "
      "= {:.3g} rows of {:.0f} bytes, at least {:.3g} GB, more than this machine's {:.3g} GB; "
      "lower experiment.batch_size or the method's counts (n, candidates)",
      method_table, plan.label, plan.settings.batch_size, run.method->particles_per_sample(),
      run.method->candidates_per_particle(), double(rows), double(row_bytes), double(needed / 1e9),
      double(memory / 1e9)));
}

}  // namespace

PreparedRuns prepare(const Experiment& experiment, const Registry& registry) {
  std::map<std::string, std::shared_ptr<DiffusionModel>> models;
  std::map<std::string, std::shared_ptr<RewardOracle>> rewards;
  std::map<std::string, std::shared_ptr<SampleSetMetric>> metrics;
  PreparedRuns runs;
  for (const auto& plan : experiment.runs) {
    auto run = std::make_unique<PreparedRun>();
    run->plan = &plan;
    run->index = runs.size();
    run->build.device = plan.settings.device;
    run->build.chunk_rows = plan.settings.chunk_rows;
    run->build.data_dir = plan.settings.data_dir;
    run->build.registry = &registry;
    const std::string context = fmt::format("{}|{}", run->build.device, run->build.chunk_rows);
    const std::string model_key =
        plan.model.type + registry.effective_toml(ComponentKind::model, plan.model) + context;
    auto& model = models[model_key];
    if (!model) model = registry.make<ComponentKind::model>(plan.model, run->build);
    run->model = model;
    auto reward_for = [&](const ComponentSpec& spec) {
      const std::string key =
          model_key + "|" + spec.type + registry.effective_toml(ComponentKind::reward, spec);
      auto& reward = rewards[key];
      if (!reward) reward = registry.make<ComponentKind::reward>(spec, run->build, model->domain());
      return reward;
    };
    run->reward = reward_for(plan.reward);
    for (const auto& [name, spec] : plan.evals) run->evals.emplace_back(name, reward_for(spec));
    for (const auto& [name, spec] : plan.metrics) {
      const std::string key =
          model_key + "|" + spec.type + registry.effective_toml(ComponentKind::metric, spec);
      auto& metric = metrics[key];
      if (!metric) metric = registry.make<ComponentKind::metric>(spec, run->build, model->domain());
      run->metrics.emplace_back(name, metric);
    }
    run->counted_model = counted(*run->model, run->cost);
    run->counted_reward = counted(*run->reward, run->model->domain(), run->cost,
                                  plan.settings.chunk_rows, plan.reward.type);
    runs.push_back(std::move(run));
  }
  for (auto& run : runs) {
    build_method(*run, runs, registry, nullptr);
    check_step_memory(*run);
  }
  return runs;
}

void build_method(PreparedRun& run, const PreparedRuns& runs, const Registry& registry,
                  const std::map<std::string, RunTotals>* totals) {
  auto measured = [&](const std::string& name) -> std::optional<double> {
    // A run label, or a method name: its run under the same sweep values of
    // the shared keys (model, reward, ...) as this run.
    const PreparedRun* found = nullptr;
    int matches = 0;
    for (const auto& other : runs) {
      // Under [experiment] seeds a label names the run of the same seed.
      if (other->plan->label == name || (other->plan->base_label == name &&
                                         other->plan->settings.seed == run.plan->settings.seed)) {
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
                    return registry.make<ComponentKind::value>(
                        spec, ValueDeps{*run.counted_model, *run.counted_reward, alpha, run.build});
                  },
                  run.build,
                  measured,
                  [&](const ComponentSpec& spec) {
                    return counted(
                        registry.make<ComponentKind::reward>(spec, run.build, run.model->domain()),
                        run.model->domain(), run.cost, run.build.chunk_rows, spec.type);
                  }};
  run.method = registry.make<ComponentKind::method>(run.plan->method_spec, deps);
}

at::Tensor evaluate(RewardOracle& oracle, const std::string& name, const Domain& domain,
                    const at::Tensor& x, int64_t chunk_rows) {
  Cost scratch;
  auto checked = counted(oracle, domain, scratch, chunk_rows, name);
  c10::InferenceMode guard;
  return checked->score(Samples(x, domain));
}

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

}  // namespace svdd
