// Core's toys, built-in rewards and value-network trainer under the shared
// contract, and the example plugin's reward, loaded from its library as
// `svdd run` loads it.
#include "catch_torch.hpp"
#include "contract.hpp"
#include "svdd/plugins/plugin_loader.hpp"
#include "torchscript_modules.hpp"
#include "toy_fixture.hpp"

using namespace svdd::contract;

namespace {

const std::string kFixtures = std::string(SVDD_SOURCE_DIR) + "/tests/fixtures/image/";

const std::vector<std::string> kModels = {
    "type = \"toy.categorical\"",
    "type = \"toy.gmm\"",
};

std::vector<std::string> covered() {
  std::vector<std::string> names;
  for (const auto& t : kModels) names.push_back(type_of(t));
  for (const char* name : {"toy.token_count", "toy.hash_reward", "toy.position_reward", "composite",
                           "torchscript_reward", "program", "value_network", "torchscript_mdlm",
                           "torchscript_ddpm", "mlp"}) {
    names.push_back(name);
  }
  return names;
}

}  // namespace

TEST_CASE("core's toy models keep the model contract", "[contract][unit]") {
  const Workshop workshop;
  for (const auto& table : kModels) check_model(workshop, table);
}

TEST_CASE("a TorchScript masked denoiser keeps the model contract", "[contract][unit]") {
  const Workshop workshop;
  svdd::test::TempDir dir;
  // Uniform logits over 4 tokens without the mask's column.
  const auto file =
      svdd::test::write_module(dir.path() / "uniform.pt", "tokens: Tensor, time: Tensor",
                               "    return torch.zeros([tokens.size(0), 6, 4])");
  check_model(workshop, "type = \"torchscript_mdlm\"\nfile = '" + file.string() +
                            "'\nalphabet = \"ACGT\"\nlength = 6\nsteps = 8");
}

TEST_CASE("a TorchScript Gaussian denoiser keeps the model contract", "[contract][unit]") {
  const Workshop workshop;
  svdd::test::TempDir dir;
  // A noise prediction that shrinks x: any module of the right shape will do.
  const auto file = svdd::test::write_module(dir.path() / "shrink.pt", "x: Tensor, t: Tensor",
                                             "    return 0.5 * x");
  check_model(workshop, "type = \"torchscript_ddpm\"\nfile = '" + file.string() +
                            "'\nshape = [2, 3]\nsteps = 8\ntrain_steps = 100");
}

TEST_CASE("core's rewards keep the reward contract", "[contract][unit]") {
  const Workshop workshop;
  const svdd::Domain tokens = workshop.model("type = \"toy.categorical\"")->domain();
  const svdd::Domain points = workshop.model("type = \"toy.gmm\"")->domain();
  const at::Tensor strings =
      at::randint(0, tokens.mask_id, {4, tokens.shape[0]}, at::TensorOptions(at::kLong));
  const at::Tensor positions = at::randn({4, points.shape[0]});
  const at::Tensor pictures = at::rand({3, 1, 28, 28}) * 2 - 1;
  for (const char* table : {"type = \"toy.token_count\"", "type = \"toy.hash_reward\"",
                            "type = \"composite\"\nterms = [\"toy.token_count\", { type = "
                            "\"toy.hash_reward\", seed = 3 }]\nweights = [1.0, 0.5]"}) {
    check_reward(workshop, {table, tokens, strings, {}, {points}});
  }
  check_reward(workshop, {"type = \"toy.position_reward\"", points, positions, {}, {tokens}});
  // A program scores any domain's decoded samples (here: the number of A's).
  check_reward(workshop, {"type = \"program\"\ncommand = ['" + std::string(SVDD_SOURCE_DIR) +
                              "/tests/fixtures/program/worker.sh', 'ok']\nworkers = 2",
                          tokens, strings});
  // A TorchScript module takes any domain.
  check_reward(workshop,
               {"type = \"torchscript_reward\"\nfile = '" + kFixtures + "reward_brightness.pt'",
                picture_domain(), pictures});
  // Its module sees the mask token (test_image_torchscript.cpp), so an
  // all-mask string is the module's to score; ids out of range are invalid.
  const at::Tensor out_of_range = at::full({1, tokens.shape[0]}, tokens.vocab_size, at::kLong);
  check_reward(workshop, {"type = \"torchscript_reward\"\nfile = '" + kFixtures +
                              "reward_token0.pt'\ninvalid_value = -1.0",
                          tokens,
                          strings,
                          out_of_range,
                          {},
                          /*mask_is_invalid=*/false});
}

TEST_CASE("core's value-network trainer keeps the trainer contract", "[contract][unit]") {
  check_trainer(Workshop(), "pretrain/value_toy_categorical.toml");
}

TEST_CASE("core's value network \"mlp\" keeps the value-network contract", "[contract][unit]") {
  const Workshop workshop;
  check_value_network(workshop, {"type = \"mlp\"\nhidden = [32]\nembedding = 4", token_domain(8),
                                 16, token_domain(9)});
  check_value_network(
      workshop, {"type = \"mlp\"\npooling = \"mean\"", token_domain(8), 16, picture_domain()});
  svdd::Domain vector;
  vector.name = "contract.vector";
  vector.kind = svdd::Domain::Kind::continuous;
  vector.shape = {6};
  check_value_network(workshop, {"type = \"mlp\"\nhidden = [32]", vector, 16, picture_domain()});
}

TEST_CASE("every model, reward and trainer of core is under contract", "[contract][unit]") {
  check_coverage(svdd::register_core_components, covered());
}

TEST_CASE("the example plugin's reward keeps the reward contract", "[contract][unit]") {
  const auto load = [](svdd::Registry& registry) {
    const auto report = svdd::load_plugin(SVDD_TEST_EXAMPLE_PLUGIN, registry);
    INFO(report.reason);
    REQUIRE(report.loaded);
  };
  const Workshop workshop(load);
  const svdd::Domain tokens = workshop.model("type = \"toy.categorical\"")->domain();
  const at::Tensor strings =
      at::randint(0, tokens.mask_id, {4, tokens.shape[0]}, at::TensorOptions(at::kLong));
  check_reward(
      workshop,
      {"type = \"example.motif_count\"\nmotif = \"AB\"", tokens, strings, {}, {picture_domain()}});
  check_coverage(load, {"example.motif_count"});
}
