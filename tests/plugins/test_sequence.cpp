// The sequence plugin's tokeniser and model-free rewards, with values
// counted by hand.
#include "catch_torch.hpp"
#include "sequence_domain.hpp"
#include "sequence_rewards.hpp"
#include "svdd/error.hpp"
#include "toy_fixture.hpp"

using Catch::Contains;
namespace seq = svdd::sequence;

namespace {

std::unique_ptr<svdd::RewardOracle> reward(const std::string& table, const svdd::Domain& domain) {
  svdd::Registry registry;
  svdd::register_core_components(registry);
  seq::register_sequence_rewards(registry);
  svdd::test::TempDir dir;
  auto file = dir.write("e.toml", "[model]\ntype = \"toy.categorical\"\n[reward]\n" + table +
                                      "\n[methods.p]\ntype = \"pretrained\"\n");
  auto experiment = svdd::load_experiment(file, {}, registry);
  return registry.make<svdd::ComponentKind::reward>(experiment.runs[0].reward, svdd::BuildContext{},
                                                    domain);
}

std::vector<double> scores(svdd::RewardOracle& r, const svdd::Domain& d,
                           const std::vector<std::string>& sequences) {
  at::Tensor x = seq::encode(
      sequences, d.name == "sequence.rna" ? seq::Alphabet::rna : seq::Alphabet::dna, d.shape[0]);
  at::Tensor s = r.score(svdd::Samples(x, d)).contiguous();
  return {s.data_ptr<double>(), s.data_ptr<double>() + s.size(0)};
}

}  // namespace

TEST_CASE("tokeniser round trips and names bad input", "[plugins][sequence]") {
  auto dna = seq::sequence_domain(seq::Alphabet::dna, 6);
  at::Tensor x = seq::encode({"ACGTac", "TTTTGG"}, seq::Alphabet::dna, 6);
  CHECK(dna.decode(x) == std::vector<std::string>{"ACGTAC", "TTTTGG"});
  CHECK(x[0].equal(at::tensor({0L, 1L, 2L, 3L, 0L, 1L})));
  CHECK_THROWS_WITH(seq::encode({"ACGTAC", "ACGXAC"}, seq::Alphabet::dna, 6),
                    Contains("sequence 1 ('ACGXAC'), position 4: 'X' is not one of ACGT"));
  CHECK_THROWS_WITH(seq::encode({"ACG"}, seq::Alphabet::dna, 6),
                    Contains("sequence 0 ('ACG') has 3 letters, expected 6"));
  auto rna = seq::sequence_domain(seq::Alphabet::rna, 4);
  CHECK(rna.decode(seq::encode({"ACGU"}, seq::Alphabet::rna, 4))[0] == "ACGU");
  CHECK_THROWS_WITH(seq::encode({"ACGT"}, seq::Alphabet::rna, 4), Contains("not one of ACGU"));
  CHECK(seq::is_nucleotide_domain(dna));
  CHECK(seq::is_nucleotide_domain(rna));
  CHECK_THROWS_WITH(seq::alphabet_from("protein"), Contains("neither"));
}

TEST_CASE("GC content, motif count and homopolymer penalty by hand", "[plugins][sequence]") {
  auto dna = seq::sequence_domain(seq::Alphabet::dna, 8);
  auto gc = reward("type = \"sequence.gc_content\"\ntarget = 0.5", dna);
  auto v = scores(*gc, dna, {"GGCCGGCC", "ACGTACGT", "AAAAAAAA"});
  CHECK(v == std::vector<double>{-0.5, 0.0, -0.5});

  // TATAAA forward once; its reverse complement TTTATA once more.
  auto motif = reward("type = \"sequence.motif_count\"\nmotif = \"TATAAA\"", dna);
  v = scores(*motif, dna, {"TATAAACG", "CGTTTATA", "TATATATA", "GGGGGGGG"});
  CHECK(v == std::vector<double>{1.0, 1.0, 0.0, 0.0});
  auto iupac =
      reward("type = \"sequence.motif_count\"\nmotif = \"GNC\"\nboth_strands = false", dna);
  CHECK(scores(*iupac, dna, {"GACGTCGG"}) == std::vector<double>{2.0});  // GAC, GTC
  // A palindrome (GATC is its own reverse complement) is counted once.
  auto palindrome = reward("type = \"sequence.motif_count\"\nmotif = \"GATC\"", dna);
  CHECK(scores(*palindrome, dna, {"GATCGATC"}) == std::vector<double>{2.0});

  auto runs = reward("type = \"sequence.homopolymer_penalty\"\nmax_run = 5", dna);
  CHECK(scores(*runs, dna, {"AAAAAAAC", "AAAAACCC", "ACACACAC"}) ==
        std::vector<double>{-2.0, 0.0, 0.0});
}

TEST_CASE("sequence rewards refuse bad parameters and other domains", "[plugins][sequence]") {
  auto dna = seq::sequence_domain(seq::Alphabet::dna, 8);
  CHECK_THROWS_WITH(reward("type = \"sequence.motif_count\"\nmotif = \"TAXA\"", dna),
                    Contains("[reward] motif: 'X' is not an IUPAC nucleotide code"));
  CHECK_THROWS_WITH(reward("type = \"sequence.gc_content\"\ntarget = 1.5", dna),
                    Contains("target: must be in [0, 1]"));
  svdd::test::ToyFixture toy(
      "[model]\ntype = \"toy.categorical\"\n[reward]\ntype = "
      "\"toy.token_count\"\n[methods.p]\ntype = \"pretrained\"\n");
  CHECK_THROWS_WITH(reward("type = \"sequence.gc_content\"", toy.model().domain()),
                    Contains("scores DNA/RNA tokens"));
}
