// Benchmark: the cost of one guided SVDD-PM step on a sequence model, with
// the B*M candidates scored in one batched call (svdd's way) against loops
// over them (the reference implementation's way). Not a test: it prints
// timings.
//
//   svdd_benchmark_sequence [EXPERIMENT.toml] [--batch B] [--candidates M] [--repeats R]
//                           [--threads N]
//
// The model and reward are the experiment's (default
// experiments/dna_enhancer_hepg2.toml). A step is timed from x_t at the
// middle step T/2: draw M children of each of the B rows, value every child
// by r(x0_hat(child)), keep the best child of each row.
#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "svdd/config/experiment.hpp"
#include "svdd/error.hpp"
#include "svdd/plugins/plugin_loader.hpp"
#include "svdd/registry.hpp"

namespace {

double median_seconds(int repeats, const std::function<void()>& step) {
  step();  // warm-up
  std::vector<double> times;
  for (int r = 0; r < repeats; ++r) {
    const auto start = std::chrono::steady_clock::now();
    step();
    times.push_back(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  std::string file = std::string(SVDD_SOURCE_DIR) + "/experiments/dna_enhancer_hepg2.toml";
  int64_t batch = 32, candidates = 10;
  int repeats = 5;
  int threads = 0;  // 0: the experiment's setting
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--batch" && i + 1 < argc) {
      batch = std::stoll(argv[++i]);
    } else if (a == "--candidates" && i + 1 < argc) {
      candidates = std::stoll(argv[++i]);
    } else if (a == "--threads" && i + 1 < argc) {
      threads = std::stoi(argv[++i]);
    } else if (a == "--repeats" && i + 1 < argc) {
      repeats = std::stoi(argv[++i]);
    } else {
      file = a;
    }
  }
  try {
    svdd::Registry registry;
    svdd::register_core_components(registry);
    svdd::load_plugins(registry);
    const svdd::Experiment experiment = svdd::load_experiment(file, {}, registry);
    const svdd::RunPlan& plan = experiment.runs.front();
    // As `svdd run`: [experiment] threads, 0 for every core.
    at::set_num_threads(static_cast<int>(
        plan.settings.threads > 0 ? plan.settings.threads : std::thread::hardware_concurrency()));
    svdd::BuildContext build;
    build.device = plan.settings.device;
    build.chunk_rows = plan.settings.chunk_rows;
    build.data_dir = plan.settings.data_dir;
    auto model = registry.make<svdd::ComponentKind::model>(plan.model, build);
    auto reward = registry.make<svdd::ComponentKind::reward>(plan.reward, build, model->domain());
    auto value =
        registry.make<svdd::ComponentKind::value>(svdd::ComponentSpec{"posterior_mean", nullptr},
                                                  svdd::ValueDeps{*model, *reward, 0.0, build});
    c10::InferenceMode guard;
    at::Generator generator = at::make_generator<at::CPUGeneratorImpl>(0);
    const int step = model->num_steps() / 2;
    // x_t at the middle step: a pretrained chain run that far.
    at::Tensor x = model->prior(batch, generator);
    for (int t = model->num_steps(); t > step; --t)
      x = model->transition(x, t)->sample(1, generator);

    // svdd's way: all B*M children through the denoiser and reward at once.
    const double batched = median_seconds(repeats, [&] {
      at::Tensor children = model->transition(x, step)->sample(candidates, generator);
      at::Tensor v = value->value(children, step - 1, generator).view({batch, candidates});
      at::Tensor best = v.argmax(1) + at::arange(batch) * candidates;
      children.index_select(0, best);
    });
    // The reference code's way: one batch of B per candidate.
    const double per_candidate = median_seconds(repeats, [&] {
      auto transition = model->transition(x, step);
      std::vector<at::Tensor> children, values;
      for (int64_t m = 0; m < candidates; ++m) {
        children.push_back(transition->sample(1, generator));
        values.push_back(value->value(children.back(), step - 1, generator));
      }
      at::Tensor best = at::stack(values, 1).argmax(1);
    });
    // Fully unbatched: one row per call.
    const double per_row = median_seconds(std::max(1, repeats / 2), [&] {
      for (int64_t i = 0; i < batch; ++i) {
        auto transition = model->transition(x.slice(0, i, i + 1), step);
        for (int64_t m = 0; m < candidates; ++m) {
          value->value(transition->sample(1, generator), step - 1, generator);
        }
      }
    });
    fmt::print(
        "model {} ({} steps, length {}), reward {}, B = {}, M = {}, step {}, {} threads\n"
        "| variant | seconds per step | ratio to batched |\n| --- | --- | --- |\n"
        "| batched: B*M = {} rows in one call | {:.4f} | 1.00 |\n"
        "| loop over M candidates, B rows each (reference code) | {:.4f} | {:.2f} |\n"
        "| loop over B*M single rows | {:.4f} | {:.2f} |\n",
        plan.model.type, model->num_steps(), model->domain().shape[0], plan.reward.type, batch,
        candidates, step, at::get_num_threads(), batch * candidates, batched, per_candidate,
        per_candidate / batched, per_row, per_row / batched);
    return 0;
  } catch (const svdd::InputError& e) {
    fmt::print(stderr, "error: {}\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    fmt::print(stderr, "failure: {}\n", e.what());
    return 1;
  }
}
