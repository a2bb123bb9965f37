// The SELFIES masked diffusion model: the transformer's shapes, a short
// training that lowers the bound, and the committed ZINC and QM9 models sampling
// molecules RDKit accepts.
#include <fmt/format.h>

#include "catch_torch.hpp"
#include "molecule_data.hpp"
#include "molecule_domain.hpp"
#include "rdkit_support.hpp"
#include "selfies_transformer.hpp"
#include "svdd/error.hpp"
#include "svdd/training/masked_diffusion_training.hpp"
#include "toy_fixture.hpp"

using namespace svdd::molecule;

namespace {
const std::vector<std::string> kMolecules{
    "CCO",          "c1ccccc1O",         "CC(=O)Nc1ccc(O)cc1", "CC(C)Cc1ccc(C(C)C(=O)O)cc1",
    "C[NH+](C)CCO", "O=C([O-])c1ccccc1", "CCN(CC)CC",          "Clc1ccc(Br)cc1",
    "CS(=O)(=O)N",  "N#Cc1ccncc1",       "C1CCNCC1",           "CC1=CC(=O)C=CC1=O"};
}

TEST_CASE("the SELFIES transformer maps tokens and times to logits of every position") {
  int64_t length = 0;
  SelfiesDomainCard card;
  card.tokens = selfies_vocabulary(kMolecules, 0, length);
  card.length = length;
  const svdd::Domain domain = selfies_domain(card);
  CHECK(domain.alphabet.front() == "[nop]");
  CHECK(domain.mask_id == domain.vocab_size - 1);
  TransformerParams params;
  params.width = 32;
  params.heads = 4;
  params.layers = 2;
  params.feedforward = 64;
  at::manual_seed(0);
  SelfiesTransformer net(params, domain.vocab_size, length);
  const TokenTable table = tokenize(kMolecules, card.tokens, length);
  REQUIRE(table.dropped == 0);
  REQUIRE(table.tokens.sizes() == at::IntArrayRef({12, length}));
  const at::Tensor logits = net.logits(table.tokens, at::full({12}, 0.5));
  CHECK(logits.sizes() == at::IntArrayRef({12, length, domain.vocab_size}));
  CHECK(logits.dtype() == at::kFloat);

  // The domain decodes token rows back to the molecules, canonically.
  const auto decoded = domain.decode(table.tokens);
  for (size_t i = 0; i < kMolecules.size(); ++i)
    CHECK(decoded[i] == canonical_smiles(kMolecules[i]));
  // A row of padding and masks is no molecule.
  at::Tensor empty = at::zeros({1, length}, at::kLong);
  empty[0][0] = domain.mask_id;
  CHECK(domain.decode(empty)[0].empty());

  SECTION("a short training lowers the bound") {
    svdd::MaskedTrainingOptions options;
    options.epochs = 20;
    options.batch_size = 12;
    options.learning_rate = 3e-3;
    const auto history =
        train_masked_denoiser(net, table.tokens, table.tokens, domain.mask_id, options);
    CHECK(history.validation_nats_per_token_per_epoch.back() <
          0.6 * history.initial_validation_nats_per_token);
  }
}

TEST_CASE("the committed ZINC and QM9 models sample molecules RDKit accepts") {
  for (const char* name : {"zinc_mdlm.pt", "qm9_mdlm.pt"}) {
    INFO(name);
    const std::filesystem::path checkpoint =
        std::filesystem::path(SVDD_SOURCE_DIR) / "experiments/models" / name;
    REQUIRE(std::filesystem::exists(checkpoint));
    LoadedTransformer loaded = load_selfies_transformer(checkpoint, "cpu");
    const svdd::Domain domain = selfies_domain(loaded.domain);
    const at::Tensor samples =
        svdd::sample_masked_diffusion(loaded.denoiser, domain, 32, 16, /*seed=*/3, 4096, "cpu");
    const auto smiles = domain.decode(samples);
    int valid = 0;
    for (const auto& s : smiles) valid += !s.empty() && parse_smiles(s) != nullptr;
    CHECK(valid == 32);
  }

  SECTION("a checkpoint without its card is refused, naming the card") {
    const std::filesystem::path checkpoint =
        std::filesystem::path(SVDD_SOURCE_DIR) / "experiments/models/qm9_mdlm.pt";
    svdd::test::TempDir dir;
    std::filesystem::copy_file(checkpoint, dir.path() / "lonely.pt");
    CHECK_THROWS_WITH(load_selfies_transformer(dir.path() / "lonely.pt", "cpu"),
                      Catch::Contains("lonely.card.toml"));
  }
}
