// torchscript_mdlm (issue 14 item 1): the exact toy denoiser, exported as
// TorchScript and run through torchscript_mdlm, samples the toy's
// distribution within the sampling tolerance, as the built-in toy does; an
// SVDD run with it lands as near the tilted target; and every wrong module
// is refused when the run is built, in one message.
#include <fmt/format.h>

#include "catch_torch.hpp"
#include "svdd/error.hpp"
#include "torchscript_modules.hpp"
#include "toy_fixture.hpp"

using Catch::Contains;
using svdd::test::TempDir;
using svdd::test::ToyFixture;

namespace {

constexpr int64_t kLength = 4, kVocab = 4, kSteps = 128;

const std::string kReward = "[reward]\ntype = \"toy.token_count\"\ntoken = \"A\"\n";
const std::string kMethods =
    "[methods.pretrained]\ntype = \"pretrained\"\n"
    "[methods.svdd]\ntype = \"svdd\"\ncandidates = 8\nalpha = 0.25\nvalue = \"exact\"\n";

std::string toy_file() {
  return "[experiment]\nname = \"t\"\n[model]\ntype = \"toy.categorical\"\n" + kReward + kMethods;
}

std::string mdlm_table(const std::filesystem::path& file, const std::string& extra = "") {
  return fmt::format(
      "[model]\ntype = \"torchscript_mdlm\"\nfile = '{}'\nalphabet = \"ABCD\"\nlength = {}\n"
      "steps = {}\n{}",
      file.string(), kLength, kSteps, extra);
}

std::string build_error(const std::string& model_table) {
  try {
    ToyFixture toy("[experiment]\nname = \"t\"\n" + model_table + kReward +
                   "[methods.pretrained]\ntype = \"pretrained\"\n");
  } catch (const svdd::InputError& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST_CASE("torchscript_mdlm with the exact toy denoiser samples the toy's distribution",
          "[unit][torchscript_mdlm]") {
  TempDir dir;
  ToyFixture toy(toy_file());
  const auto file = svdd::test::write_exact_mdlm(dir.path() / "exact.pt", *toy.model().exact(),
                                                 kVocab, toy.model().domain().mask_id);
  // The exact value needs the toy's posterior: the SVDD run below uses the
  // posterior-mean value, which any masked model has.
  ToyFixture mine("[experiment]\nname = \"t\"\n" + mdlm_table(file) + kReward +
                  "[methods.pretrained]\ntype = \"pretrained\"\n[methods.svdd]\ntype = "
                  "\"svdd\"\ncandidates = 8\nalpha = 0.0\n");
  CHECK(mine.model().domain().vocab_size == kVocab + 1);
  CHECK(mine.model().domain().mask_id == kVocab);
  const int64_t n = 4000;
  const double tolerance = svdd::test::tv_noise_bound(toy.target(-1.0), n) +
                           svdd::test::reveal_collision_probability(kLength, kSteps);
  const auto built_in = toy.decode("pretrained", n, 1);
  const auto exported = mine.decode("pretrained", n, 1);
  const double tv_built_in = toy.target_distance(built_in.samples, -1.0);
  const double tv_exported = toy.target_distance(exported.samples, -1.0);
  INFO("TV to p_pre: built-in " << tv_built_in << ", torchscript_mdlm " << tv_exported
                                << ", tolerance " << tolerance);
  CHECK(tv_built_in < tolerance);
  CHECK(tv_exported < tolerance);
  // Guided by SVDD (posterior mean, alpha 0) both raise the reward alike.
  ToyFixture toy_svdd("[experiment]\nname = \"t\"\n[model]\ntype = \"toy.categorical\"\n" +
                      kReward + "[methods.svdd]\ntype = \"svdd\"\ncandidates = 8\nalpha = 0.0\n");
  const double built_in_reward = toy_svdd.decode("svdd", 1000, 2).rewards.mean().item<double>();
  const double exported_reward = mine.decode("svdd", 1000, 2).rewards.mean().item<double>();
  const double pretrained_reward = exported.rewards.mean().item<double>();
  INFO("mean reward: pretrained " << pretrained_reward << ", svdd built-in " << built_in_reward
                                  << ", svdd torchscript_mdlm " << exported_reward);
  CHECK(exported_reward > pretrained_reward + 0.1);
  // The rewards are shares of A's in 4 tokens over 1000 samples: their
  // means' standard errors are below 0.015 each.
  CHECK(std::abs(exported_reward - built_in_reward) < 6 * 0.015);
}

TEST_CASE("torchscript_mdlm refuses a module that does not fit, in one message",
          "[unit][torchscript_mdlm]") {
  TempDir dir;
  const auto module = [&](const std::string& name, const std::string& body,
                          const std::string& signature = "tokens: Tensor, time: Tensor") {
    return svdd::test::write_module(dir.path() / (name + ".pt"), signature, body);
  };
  const auto zeros = [](const std::string& shape) {
    return "    return torch.zeros(" + shape + ")";
  };
  CHECK_THAT(build_error(mdlm_table(module("rank", zeros("[tokens.size(0), 4]")))),
             Contains("rank.pt: expected forward(tokens: Tensor[B, 4] int64, time: Tensor[B]") &&
                 Contains("returns shape [2, 4] (rank 2), not logits [B, L, V]"));
  CHECK_THAT(build_error(mdlm_table(module("vocab", zeros("[tokens.size(0), 4, 7]")))),
             Contains("returns 7 logits per position; the table declares 5 tokens with the mask"));
  CHECK_THAT(build_error(mdlm_table(module("length", zeros("[tokens.size(0), 5, 5]")))),
             Contains("returns shape [2, 5, 5] for tokens [2, 4]: expected [2, 4, V]"));
  CHECK_THAT(build_error(mdlm_table(
                 module("two", "    return torch.zeros([tokens.size(0), 4, 5]), torch.zeros([1])",
                        "tokens: Tensor, time: Tensor"))),
             Contains("returns a Tuple, not a tensor"));
  CHECK_THAT(
      build_error(mdlm_table(module("no_time", zeros("[tokens.size(0), 4, 5]"), "tokens: Tensor"))),
      Contains("which fails on tokens [2, 4]"));
  CHECK_THAT(build_error(mdlm_table(dir.write("text.pt", "not a module"))), Contains("text.pt"));
  CHECK_THAT(build_error(mdlm_table(dir.path() / "missing.pt")), Contains("missing.pt"));
  // time_input = "none" calls forward(tokens); "sigma" passes MDLM's noise
  // level, here checked by the module itself (sigma(1) = -log(eps)).
  CHECK(build_error(mdlm_table(module("none", zeros("[tokens.size(0), 4, 5]"), "tokens: Tensor"),
                               "time_input = \"none\"\n")) == "(no error)");
  const std::string sigma_body =
      "    assert bool(torch.abs(time[0] + torch.log(torch.tensor(0.001))) < 1e-4)\n" +
      zeros("[tokens.size(0), 4, 5]");
  CHECK(build_error(mdlm_table(module("sigma", sigma_body), "time_input = \"sigma\"\n")) ==
        "(no error)");
  CHECK_THAT(build_error(mdlm_table(module("sigma_as_t", sigma_body))),
             Contains("which fails on tokens [2, 4]"));
  CHECK_THAT(
      build_error(mdlm_table(module("ok", zeros("[tokens.size(0), 4, 5]")), "mask_index = 9\n")),
      Contains("mask_index 9 is not one of the 4 tokens"));
}

// DPS guides masked models through the reward's gradient on x_0's
// probabilities, which a TorchScript denoiser gives like any other.
TEST_CASE("DPS runs on a torchscript_mdlm model", "[unit][torchscript_mdlm]") {
  TempDir dir;
  ToyFixture toy(toy_file());
  const auto file = svdd::test::write_exact_mdlm(dir.path() / "exact.pt", *toy.model().exact(),
                                                 kVocab, toy.model().domain().mask_id);
  ToyFixture mine("[experiment]\nname = \"t\"\n" + mdlm_table(file) + kReward +
                  "[methods.dps]\ntype = \"dps\"\n");
  const auto decoded = mine.decode("dps", 64, 3);
  CHECK(decoded.samples.size(0) == 64);
  CHECK(decoded.rewards.isfinite().all().item<bool>());
}
