// Fuzzes the reading of experiment files with --set overrides, stage by
// stage as svdd::load_experiment runs them (core/src/config/experiment.cpp):
// read_toml_file, apply_override for each --set, the [methods] names in file
// order, read_sweep_axes and sweep_points for each method, then each run's
// component tables ([model], [reward], [methods.<name>], [eval.*],
// [metrics.*]) through component_spec_from and core's strict parameter
// reader, and the effective [sweep] table.
//
// load_experiment itself and the registry's components cannot be built
// here: they include libtorch's headers, which clang 14 does not compile in
// C++20 (CMakeLists.txt). The component tables are therefore read with one
// parameters struct of every field type (every_field.hpp) instead of each
// component's own; the test suite covers those.
//
// Input: the experiment file, then optionally a line "#--set" and one
// override ("key.path=value") per line after it.
//
// A finding: a crash, sanitizer report, hang, memory blow-up or an
// exception other than svdd::Error.
#include <string>
#include <vector>

#include "config/sweep.hpp"
#include "config/toml_config.hpp"
#include "every_field.hpp"
#include "fuzz_input.hpp"

namespace {

// More --set options than any command line needs, few enough to stay fast.
constexpr size_t kMostOverrides = 16;
// The runs of one method whose component tables one input reads.
constexpr size_t kRunsRead = 4;

struct FuzzedExperiment {
  std::string file_text;
  std::vector<std::string> overrides;
};

FuzzedExperiment split_input(std::string_view input) {
  const std::string_view separator = "\n#--set\n";
  const size_t at = input.find(separator);
  FuzzedExperiment experiment{std::string(input.substr(0, at)), {}};
  if (at == std::string_view::npos) return experiment;
  std::string_view rest = input.substr(at + separator.size());
  while (!rest.empty() && experiment.overrides.size() < kMostOverrides) {
    const size_t end = rest.find('\n');
    experiment.overrides.emplace_back(rest.substr(0, end));
    rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
  }
  return experiment;
}

void read_component(const toml::table& root, const std::string& path,
                    const svdd::ConfigOrigin& top) {
  const auto parts = svdd::split_path(path);
  const toml::node* node = &root;
  for (const auto& part : parts) {
    const toml::table* table = node->as_table();
    node = table ? table->get(part) : nullptr;
    if (!node) return;  // load_experiment refuses a missing [model] etc. earlier
  }
  const svdd::ComponentSpec spec =
      svdd::component_spec_from(*node, svdd::ConfigOrigin{top.sources, path, top.base_dir});
  svdd::fuzz::EveryField params;
  svdd::fuzz::accepted([&] { spec.config->read([&](svdd::ParamVisitor& v) { params.visit(v); }); });
  svdd::effective_params_toml(*spec.config, [&](svdd::ParamVisitor& v) { params.visit(v); });
}

void read_named_components(const toml::table& root, const std::string& key,
                           const svdd::ConfigOrigin& top) {
  const toml::node* node = root.get(key);
  if (!node || !node->as_table()) return;
  for (const auto& name : svdd::ordered_names(*node->as_table(), key, *top.sources)) {
    svdd::fuzz::accepted([&] { read_component(root, key + "." + name, top); });
  }
}

void read_experiment(const std::filesystem::path& file, const FuzzedExperiment& input) {
  toml::table root = svdd::read_toml_file(file, "experiment file");
  const svdd::ConfigOrigin top{svdd::SourceMap::of(root, file.string()), "", file.parent_path()};
  for (const auto& assignment : input.overrides) svdd::apply_override(root, assignment);
  const toml::node* methods_node = root.get("methods");
  if (!methods_node || !methods_node->as_table()) return;  // refused by load_experiment
  const toml::table& methods = *methods_node->as_table();
  const auto method_names = svdd::ordered_names(methods, "methods", *top.sources);
  const auto axes = svdd::read_sweep_axes(root, methods, method_names, *top.sources);
  for (const auto& method : method_names) {
    const auto points = svdd::sweep_points(root, method, axes);
    for (size_t p = 0; p < points.size() && p < kRunsRead; ++p) {
      for (const std::string& path :
           {std::string("model"), std::string("reward"), "methods." + method}) {
        svdd::fuzz::accepted([&] { read_component(points[p].root, path, top); });
      }
      read_named_components(points[p].root, "eval", top);
      read_named_components(points[p].root, "metrics", top);
    }
  }
  svdd::section_text({"sweep"}, svdd::sweep_table(axes));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const FuzzedExperiment input = split_input(svdd::fuzz::bytes_of(data, size));
  const auto file = svdd::fuzz::scratch_file("experiment.toml", input.file_text);
  svdd::fuzz::accepted([&] { read_experiment(file, input); });
  return 0;
}
