// The RDKit rewards against RDKit's own Python: QED (rdkit.Chem.QED), the SA
// score (Contrib/SA_Score/sascorer.py and its published zim.100.txt),
// Crippen logP and MolWt, on the 1,100 molecules of
// fixtures/molecule/qed_sa_reference.tsv (written by make_reference_values.py
// with Debian python3-rdkit 2022.09.3); plus the rewards' invalid values and
// their parameter tables.
#include <ATen/Parallel.h>
#include <GraphMol/Descriptors/Crippen.h>
#include <GraphMol/Descriptors/MolDescriptors.h>

#include <cmath>
#include <fstream>
#include <map>
#include <sstream>

#include "catch_torch.hpp"
#include "molecule_rewards.hpp"
#include "needs_data.hpp"
#include "qed.hpp"
#include "rdkit_support.hpp"
#include "sa_score.hpp"
#include "smiles_domain.hpp"
#include "svdd/config/experiment.hpp"
#include "svdd/error.hpp"
#include "toy_fixture.hpp"

using Catch::Contains;
using Catch::WithinAbs;
namespace mol = svdd::molecule;
using svdd::test::smiles_domain;

namespace {

struct Reference {
  std::string set, smiles;
  double qed, sa, logp, mol_wt;
  double sa_published;  // zim100 only (3 decimals), NaN otherwise
};

std::vector<Reference> reference_values() {
  std::ifstream in(std::string(SVDD_MOLECULE_FIXTURES) + "/qed_sa_reference.tsv");
  REQUIRE(in);
  std::vector<Reference> rows;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#' || line.rfind("set\t", 0) == 0) continue;
    std::istringstream fields(line);
    Reference r;
    std::string qed, sa, logp, mol_wt, published;
    std::getline(fields, r.set, '\t');
    std::getline(fields, r.smiles, '\t');
    std::getline(fields, qed, '\t');
    std::getline(fields, sa, '\t');
    std::getline(fields, logp, '\t');
    std::getline(fields, mol_wt, '\t');
    std::getline(fields, published, '\t');
    r.qed = std::stod(qed);
    r.sa = std::stod(sa);
    r.logp = std::stod(logp);
    r.mol_wt = std::stod(mol_wt);
    r.sa_published = published == "-" ? std::nan("") : std::stod(published);
    rows.push_back(r);
  }
  REQUIRE(rows.size() == 1100);
  return rows;
}

// The largest absolute difference seen in each reference set.
struct MaxDiff {
  std::map<std::string, double> by_set;
  void add(const std::string& set, double difference) {
    by_set[set] = std::max(by_set[set], std::abs(difference));
  }
  double operator[](const std::string& set) const { return by_set.at(set); }
};

// The SA score's fragment table in the data folder.
const std::string kFragmentFile = "sa_score_fpscores/fpscores.tsv.gz";

std::shared_ptr<const mol::FragmentScores> fragments_or_skip() {
  const auto data = svdd::test::needs_data({kFragmentFile});
  if (!data) return nullptr;
  return mol::FragmentScores::load(mol::fragment_scores_path(*data));
}

svdd::Registry molecule_registry() {
  svdd::Registry registry;
  svdd::register_core_components(registry);
  mol::register_molecule_rewards(registry);
  return registry;
}

// The reward an experiment's [reward] table builds; throws like a run would.
std::unique_ptr<svdd::RewardOracle> reward(const std::string& table, const svdd::Domain& domain) {
  const svdd::Registry registry = molecule_registry();
  svdd::test::TempDir dir;
  auto file = dir.write("e.toml", "[model]\ntype = \"toy.categorical\"\n[reward]\n" + table +
                                      "\n[methods.p]\ntype = \"pretrained\"\n");
  auto experiment = svdd::load_experiment(file, {}, registry);
  svdd::BuildContext build;
  build.data_dir = svdd::default_data_dir();
  return registry.make<svdd::ComponentKind::reward>(experiment.runs[0].reward, build, domain);
}

std::vector<double> scores(svdd::RewardOracle& r, const std::vector<std::string>& smiles) {
  const svdd::Domain domain = smiles_domain(smiles);
  at::Tensor x = at::arange(static_cast<int64_t>(smiles.size()), at::kLong).unsqueeze(1);
  at::Tensor s = r.score(svdd::Samples(x, domain));
  REQUIRE(s.dtype() == at::kDouble);
  REQUIRE(s.dim() == 1);
  REQUIRE(s.size(0) == static_cast<int64_t>(smiles.size()));
  s = s.contiguous();
  return {s.data_ptr<double>(), s.data_ptr<double>() + s.size(0)};
}

const std::vector<std::string> kInvalidSmiles = {"", "C1CC", "CF(C)C", "not a smiles", "c1cccc1"};

}  // namespace

TEST_CASE("QED and the Crippen logP and weight match RDKit's Python", "[plugins][molecule]") {
  SECTION(
      "1,100 molecules of qed_sa_reference.tsv: rdkit.Chem.QED.qed, Crippen.MolLogP, "
      "Descriptors.MolWt from Debian python3-rdkit 2022.09.3") {
    MaxDiff qed_diff, logp_diff, weight_diff;
    for (const Reference& r : reference_values()) {
      INFO(r.set << " " << r.smiles);
      auto m = mol::parse_smiles(r.smiles);
      REQUIRE(m != nullptr);
      const double q = mol::qed(*m);
      CHECK_THAT(q, WithinAbs(r.qed, 1e-3));
      qed_diff.add(r.set, q - r.qed);
      logp_diff.add(r.set, RDKit::Descriptors::calcClogP(*m) - r.logp);
      weight_diff.add(r.set, RDKit::Descriptors::calcAMW(*m) - r.mol_wt);
    }
    // The largest differences per set (shown by `svdd_molecule_tests -s`).
    for (const char* set : {"zim100", "zinc"}) {
      INFO(set);
      CHECK(qed_diff[set] < 1e-3);
      CHECK(logp_diff[set] < 1e-6);
      CHECK(weight_diff[set] < 1e-6);
    }
  }
  SECTION("the paper's examples, as in RDKit's QED doctest (0.253..., 0.234..., 0.234...)") {
    CHECK_THAT(mol::qed(*mol::parse_smiles("N=C(CCSCc1csc(N=C(N)N)n1)NS(N)(=O)=O")),
               WithinAbs(0.2535, 5e-4));
    CHECK_THAT(mol::qed(*mol::parse_smiles("CNC(=NCCSCc1nc[nH]c1C)NC#N")), WithinAbs(0.2345, 5e-4));
    CHECK_THAT(mol::qed(*mol::parse_smiles("CCCCCNC(=N)NN=Cc1c[nH]c2ccc(CO)cc12")),
               WithinAbs(0.2345, 5e-4));
  }
}

TEST_CASE("SA score matches RDKit's sascorer and its published values",
          "[plugins][molecule][data]") {
  auto fragments = fragments_or_skip();
  if (!fragments) return;
  CHECK(fragments->size() == 705292);
  MaxDiff python_diff, published_diff;
  for (const Reference& r : reference_values()) {
    INFO(r.set << " " << r.smiles);
    auto m = mol::parse_smiles(r.smiles);
    REQUIRE(m != nullptr);
    const double sa = mol::sa_score(*m, *fragments);
    // sascorer.calculateScore, Debian python3-rdkit 2022.09.3 (qed_sa_reference.tsv).
    CHECK_THAT(sa, WithinAbs(r.sa, 1e-3));
    python_diff.add(r.set, sa - r.sa);
    if (!std::isnan(r.sa_published)) {
      // RDKit's Contrib/SA_Score/data/zim.100.txt, rounded to 3 decimals.
      CHECK_THAT(sa, WithinAbs(r.sa_published, 1e-3));
      published_diff.add(r.set, sa - r.sa_published);
    }
  }
  CHECK(python_diff["zim100"] < 1e-3);
  CHECK(python_diff["zinc"] < 1e-3);
  CHECK(published_diff["zim100"] < 1e-3);
}

TEST_CASE("the fragment table is read once and refuses a bad file", "[plugins][molecule][data]") {
  auto fragments = fragments_or_skip();
  if (!fragments) return;
  CHECK(mol::FragmentScores::load(mol::fragment_scores_path(svdd::default_data_dir())) ==
        fragments);
  CHECK((*fragments)[910163969] == -2.8254);  // the table's first row
  CHECK((*fragments)[1] == -4.0);             // unknown fragments count as -4
  svdd::test::TempDir dir;
  CHECK_THROWS_AS(mol::FragmentScores::load(dir.path() / "missing.tsv.gz"), svdd::InputError);
  CHECK_THROWS_WITH(mol::FragmentScores::load(dir.write("plain.tsv.gz", "id,score\n1,2\n")),
                    Contains("fragment_id<TAB>score"));
}

TEST_CASE("molecule rewards score SMILES through the registry", "[plugins][molecule]") {
  const std::vector<std::string> smiles = {"c1ccccc1", "C1CCCCCCC1",
                                           "CC(C)(C)c1ccc2occ(CC(=O)Nc3ccccc3F)c2c1"};
  auto m = mol::parse_smiles(smiles[2]);
  SECTION("molecule.qed and molecule.logp agree with the direct calls") {
    auto q = scores(*reward("type = \"molecule.qed\"", smiles_domain(smiles)), smiles);
    CHECK(q[2] == mol::qed(*m));
    // QED.weights_max and QED.weights_none, Debian python3-rdkit 2022.09.3.
    auto max = scores(*reward("type = \"molecule.qed\"\nweights = \"max\"", smiles_domain(smiles)),
                      smiles);
    CHECK_THAT(max[2], WithinAbs(0.7821058077113766, 1e-9));
    auto none = scores(
        *reward("type = \"molecule.qed\"\nweights = \"none\"", smiles_domain(smiles)), smiles);
    CHECK_THAT(none[2], WithinAbs(0.7322741462308392, 1e-9));
    auto logp = scores(*reward("type = \"molecule.logp\"", smiles_domain(smiles)), smiles);
    CHECK_THAT(logp[0], WithinAbs(1.6866, 1e-9));  // Crippen.MolLogP('c1ccccc1')
  }
  SECTION("molecule.mol_weight: 1 inside the window, linear outside (MolWt from python3-rdkit)") {
    auto w = scores(*reward("type = \"molecule.mol_weight\"\nlow = 100.0\nhigh = 300.0\n"
                            "scale = 50.0",
                            smiles_domain(smiles)),
                    smiles);
    CHECK_THAT(w[0], WithinAbs(1.0 - (100.0 - 78.11399999999999) / 50.0, 1e-9));
    CHECK(w[1] == 1.0);
    CHECK_THAT(w[2], WithinAbs(1.0 - (325.38300000000004 - 300.0) / 50.0, 1e-9));
    CHECK(mol::weight_window(1000.0, 100.0, 300.0, 50.0) == 0.0);
  }
}

TEST_CASE("molecule.sa and penalized_logp score SMILES through the registry",
          "[plugins][molecule][data]") {
  if (!svdd::test::needs_data({kFragmentFile})) return;
  const std::vector<std::string> smiles = {"c1ccccc1", "C1CCCCCCC1",
                                           "CC(C)(C)c1ccc2occ(CC(=O)Nc3ccccc3F)c2c1"};
  auto m = mol::parse_smiles(smiles[2]);
  SECTION("molecule.sa: (10 - SA) / 9 by default, raw on request") {
    auto fragments = mol::FragmentScores::load(mol::fragment_scores_path(svdd::default_data_dir()));
    const double sa = mol::sa_score(*m, *fragments);
    auto normal = scores(*reward("type = \"molecule.sa\"", smiles_domain(smiles)), smiles);
    auto raw =
        scores(*reward("type = \"molecule.sa\"\nscale = \"raw\"", smiles_domain(smiles)), smiles);
    CHECK(normal[2] == (10.0 - sa) / 9.0);
    CHECK(raw[2] == sa);
  }
  SECTION(
      "molecule.penalized_logp: logP - SA - ring penalty, computed with python3-rdkit "
      "(Crippen.MolLogP, sascorer, RingInfo.AtomRings)") {
    auto plain =
        scores(*reward("type = \"molecule.penalized_logp\"", smiles_domain(smiles)), smiles);
    CHECK_THAT(plain[0], WithinAbs(0.6866000000000001, 1e-3));
    CHECK_THAT(plain[1], WithinAbs(0.1208000000000018, 1e-3));  // ring of 8: penalty 2
    CHECK_THAT(plain[2], WithinAbs(2.9665054279273226, 1e-3));
    auto normalized = scores(
        *reward("type = \"molecule.penalized_logp\"\nnormalized = true", smiles_domain(smiles)),
        smiles);
    CHECK_THAT(normalized[0], WithinAbs(2.095171701744179, 5e-3));
    CHECK_THAT(normalized[1], WithinAbs(-3.897403428909552, 5e-3));
    CHECK_THAT(normalized[2], WithinAbs(3.1399057164163766, 5e-3));
  }
}

// A large batch scored in parallel against the reference values of `table`
// (QED or SA); rows are scored on ATen's intra-op threads, which share the
// compiled SMARTS patterns and the fragment table.
static void check_large_batch(const std::string& table) {
  std::vector<std::string> smiles;
  std::vector<double> expected_qed, expected_sa;
  for (const Reference& r : reference_values()) {
    smiles.push_back(r.smiles);
    expected_qed.push_back(r.qed);
    expected_sa.push_back(r.sa);
  }
  smiles.push_back("");  // one invalid row among them
  for (double& sa : expected_sa) sa = (10.0 - sa) / 9.0;
  const std::vector<double>& expected =
      table == "type = \"molecule.sa\"" ? expected_sa : expected_qed;
  INFO(table << " with " << at::get_num_threads() << " threads");
  auto s = scores(*reward(table, smiles_domain(smiles)), smiles);
  for (size_t i = 0; i < expected.size(); ++i) CHECK_THAT(s[i], WithinAbs(expected[i], 1e-3));
  CHECK(s.back() == 0.0);
}

TEST_CASE("a large batch scored in parallel equals the reference values", "[plugins][molecule]") {
  check_large_batch("type = \"molecule.qed\"");
}

TEST_CASE("a large batch scored in parallel equals the reference SA values",
          "[plugins][molecule][data]") {
  if (!svdd::test::needs_data({kFragmentFile})) return;
  check_large_batch("type = \"molecule.sa\"");
}

static void check_invalid_values(const std::vector<std::pair<std::string, double>>& tables) {
  const svdd::Domain domain = smiles_domain(kInvalidSmiles);
  for (const auto& [table, invalid] : tables) {
    INFO(table);
    auto r = reward(table, domain);
    CHECK(r->invalid_value() == invalid);
    for (double s : scores(*r, kInvalidSmiles)) CHECK(s == invalid);
  }
}

TEST_CASE("invalid and empty SMILES get each reward's documented value", "[plugins][molecule]") {
  check_invalid_values({
      {"type = \"molecule.qed\"", 0.0},
      {"type = \"molecule.logp\"", -10.0},
      {"type = \"molecule.logp\"\ninvalid_value = -3.5", -3.5},
      {"type = \"molecule.mol_weight\"", 0.0},
  });
}

TEST_CASE("invalid and empty SMILES get the SA rewards' documented value",
          "[plugins][molecule][data]") {
  if (!svdd::test::needs_data({kFragmentFile})) return;
  check_invalid_values({{"type = \"molecule.sa\"", 0.0},
                        {"type = \"molecule.sa\"\nscale = \"raw\"", 10.0},
                        {"type = \"molecule.penalized_logp\"", -100.0}});
}

TEST_CASE("molecule reward tables refuse unknown keys and bad values", "[plugins][molecule]") {
  const svdd::Domain domain = smiles_domain({"C"});
  CHECK_THROWS_WITH(reward("type = \"molecule.qed\"\nweight = \"mean\"", domain),
                    Contains("unknown key 'weight'"));
  CHECK_THROWS_AS(reward("type = \"molecule.qed\"\nweights = \"median\"", domain),
                  svdd::InputError);
  CHECK_THROWS_AS(reward("type = \"molecule.mol_weight\"\nlow = 500.0\nhigh = 200.0", domain),
                  svdd::InputError);
  CHECK_THROWS_AS(reward("type = \"molecule.sa\"\nscale = \"log\"", domain), svdd::InputError);
}
