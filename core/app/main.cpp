// The `svdd` command line: run experiments, list components, report versions.
// Exit codes: 0 success, 2 bad input, 1 internal failure, 130/143 stopped by
// SIGINT/SIGTERM.
#include <fmt/format.h>
#include <spdlog/cfg/env.h>
#include <spdlog/spdlog.h>

#include <cstring>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "svdd/config/experiment.hpp"
#include "svdd/error.hpp"
#include "svdd/plugin.hpp"
#include "svdd/plugins/plugin_loader.hpp"
#include "svdd/registry.hpp"
#include "svdd/run/report.hpp"
#include "svdd/run/runner.hpp"
#include "svdd/run/score.hpp"
#include "svdd/trainer.hpp"
#include "svdd/util/process.hpp"
#include "svdd/util/stop_signals.hpp"
#include "svdd/version.hpp"

namespace {

constexpr const char* kHelp = R"(svdd: reward-guided decoding of diffusion models

Usage:
  svdd run FILE.toml [--out DIR] [--set key.path=value ...] [--no-progress]
      Run every method of an experiment file and write DIR (default
      runs/<experiment name>): config.toml, samples.csv, batches.csv,
      summary.csv, summary.md, run.log, and the report
      (report.html, figures/, table1.md; see svdd report).
  svdd run --resume DIR
      Continue an interrupted run without redoing its finished batches.
  svdd train FILE.toml [--out CHECKPOINT] [--set key.path=value ...]
                       [--resume] [--stop-after EPOCH]
      Run the trainer that [training] type names (see the trainers in
      svdd list: value_network for SVDD-MC, with [training.model] and
      [training.reward]; a plugin's denoiser, oracle or classifier) and
      write CHECKPOINT NAME.pt with its card NAME.card.toml. After every
      epoch it keeps NAME.resume.pt (weights, optimiser, EMA, generators,
      epoch); --resume continues from it as if never interrupted, and
      refuses a state of another configuration naming the key that
      differs. --stop-after ends after that epoch as if interrupted. Use a
      value network with value = { type = "learned", checkpoint = "NAME.pt" }.
      An old [value_training] file is refused with what to write instead.
  svdd score FILE.toml --input DESIGNS [--input ...] [--column NAME]
             [--group NAME] [--label NAME ...] [--out DIR] [--set ...]
      Score designs made elsewhere with the file's reward, [eval.*] and
      [metrics.*] (its methods are not run), written as a run's folder
      (default runs/<experiment name>_score): one summary row per input, or
      per value of the --group column. DESIGNS has one decoded sample per
      line (a DNA string, a SMILES, a PNG file or data URI), or is a CSV/TSV
      file whose --column holds them (e.g. a run's samples.csv with
      --column sample --group run). A design the domain cannot encode is
      reported with its line and scored as invalid.
  svdd report DIR [DIR ...] [--out OUT]
      Write a report of run folders without rerunning them: OUT/report.html
      (one self-contained page), OUT/figures/*.svg|png|csv (reward
      distributions, reward against compute with best-of-N, sweep curves,
      diversity and naturalness against reward, per-step diagnostics,
      pictures of the best samples, sequence logos, k-mer spectra) and
      OUT/table1.md|csv (one block per folder; the seed paper's figures
      where [report] paper_table names a task). OUT defaults to DIR for one
      folder. svdd run writes the same into every run folder.
  svdd list
      Plugins, components and each component's parameters with defaults
      and the rules their values must follow.
  svdd --version
  svdd help

Environment:
  SVDD_PLUGIN_PATH  extra plugin folders, ':'-separated
  SVDD_DATA_DIR     the shared data folder (default ../shared/data)
  SPDLOG_LEVEL      log level (debug, info, warn, error), for all loggers or
                    per logger: info,train=debug (loggers: core, run, train,
                    sequence, molecule, image)

Ctrl-C or SIGTERM stops at the next step, keeping every finished batch (or
epoch) and saying how to continue; exit code 130 or 143. A second one stops
at once.

Exit codes: 0 success, 2 bad input, 1 internal failure, 128 + signal.
)";

struct Loaded {
  svdd::Registry registry;
  std::vector<svdd::PluginReport> plugins;
};

Loaded load_components() {
  Loaded loaded;
  svdd::register_core_components(loaded.registry);
  loaded.plugins = svdd::load_plugins(loaded.registry);
  return loaded;
}

// Parsed command arguments: at most one positional file, options that take
// a value ("--out DIR" or "--out=DIR"; repeatable), and flags.
struct Arguments {
  std::string file;
  std::map<std::string, std::vector<std::string>> values;
  std::set<std::string> flags;

  std::string value(const std::string& option) const {
    auto it = values.find(option);
    return it == values.end() ? "" : it->second.back();
  }
  std::vector<std::string> all(const std::string& option) const {
    auto it = values.find(option);
    return it == values.end() ? std::vector<std::string>{} : it->second;
  }
};

Arguments parse_arguments(const std::vector<std::string>& args, const std::set<std::string>& valued,
                          const std::set<std::string>& flags) {
  Arguments parsed;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    const auto eq = a.find('=');
    const std::string option = a.substr(0, eq);
    if (valued.count(option)) {
      if (eq != std::string::npos) {
        parsed.values[option].push_back(a.substr(eq + 1));
      } else if (i + 1 < args.size() && args[i + 1].rfind("--", 0) != 0) {
        parsed.values[option].push_back(args[++i]);
      } else {
        throw svdd::InputError(fmt::format("{} needs a value", a));
      }
    } else if (flags.count(a)) {
      parsed.flags.insert(a);
    } else if (a.rfind("--", 0) == 0) {
      throw svdd::InputError(fmt::format("unknown option {} (see svdd help)", a));
    } else if (parsed.file.empty()) {
      parsed.file = a;
    } else {
      throw svdd::InputError(fmt::format("unexpected argument {} (see svdd help)", a));
    }
  }
  return parsed;
}

int run_command(const std::vector<std::string>& args) {
  const Arguments a = parse_arguments(args, {"--out", "--set", "--resume"}, {"--no-progress"});
  std::string file = a.file, out = a.value("--out");
  const std::string resume = a.value("--resume");
  if (!resume.empty()) {
    if (!file.empty() || !a.all("--set").empty() || !out.empty()) {
      throw svdd::InputError(
          "--resume DIR takes no experiment file, --set or --out: it continues DIR as configured");
    }
    file = (std::filesystem::path(resume) / "config.toml").string();
    out = resume;
  }
  if (file.empty()) throw svdd::InputError("svdd run needs an experiment file (see svdd help)");
  Loaded loaded = load_components();
  svdd::Experiment experiment = svdd::load_experiment(file, a.all("--set"), loaded.registry);
  svdd::RunOptions options;
  options.out_dir = out;
  options.resume = !resume.empty();
  options.progress = !a.flags.count("--no-progress");
  svdd::run_experiment(experiment, loaded.registry, options);
  return 0;
}

int train_command(const std::vector<std::string>& args) {
  const Arguments a = parse_arguments(args, {"--out", "--set", "--stop-after"}, {"--resume"});
  if (a.file.empty()) throw svdd::InputError("svdd train needs a training file (see svdd help)");
  svdd::TrainingOptions options;
  options.file = a.file;
  options.out = a.value("--out");
  options.overrides = a.all("--set");
  options.resume = a.flags.count("--resume") > 0;
  if (const std::string stop = a.value("--stop-after"); !stop.empty()) {
    try {
      size_t used = 0;
      options.stop_after_epoch = std::stoll(stop, &used);
      if (used != stop.size() || options.stop_after_epoch < 1) throw std::invalid_argument(stop);
    } catch (const std::logic_error&) {
      throw svdd::InputError(fmt::format("--stop-after needs an epoch >= 1, not '{}'", stop));
    }
  }
  Loaded loaded = load_components();
  svdd::train_component(options, loaded.registry);
  return 0;
}

int score_command(const std::vector<std::string>& args) {
  const Arguments a =
      parse_arguments(args, {"--input", "--column", "--group", "--label", "--out", "--set"}, {});
  if (a.file.empty()) throw svdd::InputError("svdd score needs an experiment file (see svdd help)");
  svdd::ScoreOptions options;
  for (const auto& input : a.all("--input")) options.inputs.emplace_back(input);
  options.column = a.value("--column");
  options.group = a.value("--group");
  options.labels = a.all("--label");
  options.out_dir = a.value("--out");
  Loaded loaded = load_components();
  const svdd::Experiment experiment =
      svdd::load_experiment(a.file, a.all("--set"), loaded.registry);
  svdd::score_designs(experiment, loaded.registry, options);
  return 0;
}

int report_command(const std::vector<std::string>& args) {
  std::vector<std::filesystem::path> dirs;
  std::string out;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--out" || args[i].rfind("--out=", 0) == 0) {
      if (args[i] == "--out") {
        if (i + 1 >= args.size()) throw svdd::InputError("--out needs a value");
        out = args[++i];
      } else {
        out = args[i].substr(6);
      }
    } else if (args[i].rfind("--", 0) == 0) {
      throw svdd::InputError(fmt::format("unknown option {} (see svdd help)", args[i]));
    } else {
      dirs.emplace_back(args[i]);
    }
  }
  Loaded loaded = load_components();
  svdd::report_folders(dirs, out, loaded.registry);
  return 0;
}

int list_command() {
  Loaded loaded = load_components();
  fmt::print("svdd {} (libtorch {}, plugin API {})\n\nPlugins:\n", svdd::version(),
             svdd::torch_version(), SVDD_PLUGIN_API_VERSION);
  if (loaded.plugins.empty()) fmt::print("  (none found)\n");
  for (const auto& p : loaded.plugins) {
    fmt::print("  {} {}{}\n", p.loaded ? "loaded " : "REFUSED", p.file.string(),
               p.loaded ? "" : ": " + p.reason);
  }
  fmt::print("Plugin folders searched:\n");
  for (const auto& folder : svdd::plugin_search_path()) fmt::print("  {}\n", folder.string());
  for (auto kind :
       {svdd::ComponentKind::model, svdd::ComponentKind::reward, svdd::ComponentKind::value,
        svdd::ComponentKind::method, svdd::ComponentKind::metric, svdd::ComponentKind::trainer,
        svdd::ComponentKind::value_network}) {
    fmt::print("\n{}s:\n", svdd::to_string(kind));
    for (const auto& c : loaded.registry.components()) {
      if (c.kind != kind) continue;
      fmt::print("  {}  ({})\n    {}\n", c.name, c.origin, c.summary);
      for (const auto& p : c.params) {
        fmt::print("      {} : {} = {}  {}\n", p.key, p.type, p.default_value, p.doc);
      }
    }
  }
  fmt::print("\ndomains (for the domain key of torchscript_mdlm and torchscript_ddpm):\n");
  for (const auto& d : loaded.registry.domains()) {
    fmt::print("  {}  ({})\n    {}\n", d.name, d.origin, d.summary);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  svdd::tune_allocator();
  svdd::catch_stop_signals();
  spdlog::set_pattern("[%l] %n: %v");  // e.g. "[info] run: ...": the logger names the part
  spdlog::cfg::load_env_levels();
  std::vector<std::string> args(argv + 1, argv + argc);
  try {
    if (args.empty() || args[0] == "help" || args[0] == "--help" || args[0] == "-h") {
      fmt::print("{}", kHelp);
      return args.empty() ? 2 : 0;
    }
    if (args[0] == "--version" || args[0] == "version") {
      fmt::print("svdd {} (libtorch {}, plugin API {})\n", svdd::version(), svdd::torch_version(),
                 SVDD_PLUGIN_API_VERSION);
      return 0;
    }
    if (args[0] == "run") return run_command({args.begin() + 1, args.end()});
    if (args[0] == "train") return train_command({args.begin() + 1, args.end()});
    if (args[0] == "score") return score_command({args.begin() + 1, args.end()});
    if (args[0] == "report") return report_command({args.begin() + 1, args.end()});
    if (args[0] == "list") return list_command();
    throw svdd::InputError(fmt::format("unknown command '{}' (see svdd help)", args[0]));
  } catch (const svdd::Stopped& e) {
    fmt::print(stderr, "svdd: {}\n", e.what());
    return 128 + e.signal();
  } catch (const svdd::InputError& e) {
    fmt::print(stderr, "svdd: error: {}\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    // error_message: a libtorch error's what() carries a C++ backtrace.
    fmt::print(stderr, "svdd: failure: {}\n", svdd::error_message(e));
    return 1;
  }
}
