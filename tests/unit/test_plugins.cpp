// Plugin loading: the example plugin loads and works; broken plugins are
// refused with one clear reason each and the loader keeps going.
#include <cstdlib>
#include <fstream>

#include "catch_torch.hpp"
#include "svdd/plugins/plugin_loader.hpp"
#include "toy_fixture.hpp"

using Catch::Contains;

TEST_CASE("the example plugin loads and scores samples", "[unit][plugins]") {
  svdd::Registry registry;
  svdd::register_core_components(registry);
  auto report = svdd::load_plugin(SVDD_TEST_EXAMPLE_PLUGIN, registry);
  INFO(report.reason);
  REQUIRE(report.loaded);
  CHECK(registry.contains(svdd::ComponentKind::reward, "example.motif_count"));

  svdd::test::TempDir dir;
  auto file = dir.write("e.toml", R"(
[model]
type = "toy.categorical"
[reward]
type = "example.motif_count"
motif = "AB"
[methods.pretrained]
type = "pretrained"
)");
  auto experiment = svdd::load_experiment(file, {}, registry);
  svdd::BuildContext build;
  auto model = registry.make<svdd::ComponentKind::model>(experiment.runs[0].model, build);
  auto reward =
      registry.make<svdd::ComponentKind::reward>(experiment.runs[0].reward, build, model->domain());
  at::Tensor x =
      at::tensor({0, 1, 0, 1, 2, 2, 2, 2, 0, 1, 1, 1}, at::kLong).view({3, 4});  // ABAB CCCC ABBB
  at::Tensor r = reward->score(svdd::Samples(x, model->domain()));
  CHECK(r[0].item<double>() == Approx(2.0 / 3.0));
  CHECK(r[1].item<double>() == 0.0);
  CHECK(r[2].item<double>() == Approx(1.0 / 3.0));

  // Loading it twice clashes on names and is refused, not half-applied.
  auto again = svdd::load_plugin(SVDD_TEST_EXAMPLE_PLUGIN, registry);
  CHECK_FALSE(again.loaded);
  CHECK_THAT(again.reason, Contains("example.motif_count") && Contains("already registered"));
}

TEST_CASE("broken plugins are refused with a reason naming the problem", "[unit][plugins]") {
  svdd::Registry registry;
  const std::filesystem::path broken = SVDD_TEST_BROKEN_PLUGIN_DIR;

  auto wrong_api = svdd::load_plugin(broken / "libsvdd_plugin_wrong_api.so", registry);
  CHECK_FALSE(wrong_api.loaded);
  CHECK_THAT(wrong_api.reason, Contains("plugin API version 999"));

  auto no_entry = svdd::load_plugin(broken / "libsvdd_plugin_no_entry.so", registry);
  CHECK_FALSE(no_entry.loaded);
  CHECK_THAT(no_entry.reason, Contains("no svdd_plugin_info() entry point"));

  auto throwing = svdd::load_plugin(broken / "libsvdd_plugin_throwing.so", registry);
  CHECK_FALSE(throwing.loaded);
  CHECK_THAT(throwing.reason, Contains("registration failed: boom: missing checkpoint"));
  CHECK_FALSE(registry.contains(svdd::ComponentKind::method, "broken.half_registered"));

  svdd::test::TempDir dir;
  auto junk = dir.write("libjunk.so", "not a library");
  auto not_library = svdd::load_plugin(junk, registry);
  CHECK_FALSE(not_library.loaded);
  CHECK_THAT(not_library.reason, Contains("cannot be opened"));
  // The loader's own reason, without boost's unrelated errno text.
  CHECK_THAT(not_library.reason, Contains("libjunk.so: file too short"));
  CHECK_THAT(not_library.reason, !Contains("Bad file descriptor") && !Contains("boost::dll"));
}

TEST_CASE("load_plugins keeps going past broken plugins on SVDD_PLUGIN_PATH", "[unit][plugins]") {
  svdd::Registry registry;
  svdd::register_core_components(registry);
  ::setenv("SVDD_PLUGIN_PATH", SVDD_TEST_BROKEN_PLUGIN_DIR, 1);
  auto reports = svdd::load_plugins(registry);
  ::unsetenv("SVDD_PLUGIN_PATH");
  int refused = 0;
  bool example = false;
  for (const auto& r : reports) {
    refused += !r.loaded;
    example |= r.loaded && r.file.filename() == "libsvdd_plugin_example.so";
  }
  CHECK(refused == 3);
  CHECK(example);
  CHECK(registry.contains(svdd::ComponentKind::reward, "example.motif_count"));
}
