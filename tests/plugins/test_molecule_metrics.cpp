// The set metrics of molecule runs (validity, uniqueness, novelty, internal
// diversity) on hand-computed cases, and the Tanimoto distance of the
// molecule domain. Tanimoto reference values come from Debian
// python3-rdkit 2022.09.3, the same RDKit release the plugin links.
#include <ATen/ATen.h>

#include <cmath>
#include <filesystem>

#include "catch_torch.hpp"
#include "molecule_metrics.hpp"
#include "needs_data.hpp"
#include "svdd/config/experiment.hpp"
#include "svdd/error.hpp"
#include "tanimoto.hpp"
#include "toy_fixture.hpp"

using Catch::Contains;
using Catch::WithinAbs;
using Catch::WithinRel;
namespace mol = svdd::molecule;

namespace {

// A metric built from an experiment's [metrics.m] table, as a run builds it.
std::unique_ptr<svdd::SampleSetMetric> metric(const std::string& table,
                                              const std::filesystem::path& data_dir) {
  svdd::Registry registry;
  svdd::register_core_components(registry);
  mol::register_molecule_metrics(registry);
  svdd::test::TempDir dir;
  const auto file = dir.write(
      "e.toml",
      "[model]\ntype = \"toy.categorical\"\nlength = 2\nvocab = 2\n[reward]\ntype = "
      "\"toy.token_count\"\ntoken = \"A\"\n[methods.p]\ntype = \"pretrained\"\n[metrics.m]\n" +
          table + "\n");
  const auto experiment = svdd::load_experiment(file, {}, registry);
  svdd::BuildContext build;
  build.data_dir = data_dir;
  svdd::Domain domain;
  domain.name = "test.smiles";
  domain.kind = svdd::Domain::Kind::discrete;  // SMILES come from tokens
  return registry.make<svdd::ComponentKind::metric>(experiment.runs.at(0).metrics.at(0).second,
                                                    build, domain);
}

// Loads a data set's reference molecules (all rows).
void check_reference_set(const std::string& file, int64_t rows) {
  const auto data = svdd::test::needs_data({file});
  if (!data) return;
  mol::ReferenceParams params;
  params.file = file;
  // load_reference_set logs its time (about 5 s for either on 2 cores).
  const mol::ReferenceSet reference = mol::load_reference_set(params, *data);
  CHECK(reference.rows == rows);
  CHECK(reference.invalid_rows == 0);
  CHECK(reference.molecules.size() > 0.99 * rows);
}

}  // namespace

TEST_CASE("molecule.validity is the share of SMILES that parse and sanitise",
          "[plugins][molecule]") {
  // Valid: ethanol, benzene. Invalid: empty, unclosed ring, 3-bonded F.
  const std::vector<std::string> smiles = {"CCO", "", "C1CC", "c1ccccc1", "CF(C)C"};
  CHECK_THAT(mol::validity(smiles), WithinAbs(2.0 / 5.0, 1e-15));
  CHECK_THAT(mol::validity({"CCO"}), WithinAbs(1.0, 1e-15));
  CHECK_THAT(mol::validity({"", "xyz"}), WithinAbs(0.0, 1e-15));
  CHECK(std::isnan(mol::validity({})));
  CHECK_THAT(metric("type = \"molecule.validity\"", {})->compute(smiles), WithinAbs(0.4, 1e-15));
}

TEST_CASE("molecule.uniqueness counts one molecule written two ways once", "[plugins][molecule]") {
  // 5 valid samples: ethanol twice (OCC, C(O)C), benzene twice (aromatic
  // and Kekulé), ethylamine once; the invalid sample is not counted.
  const std::vector<std::string> smiles = {"OCC",         "C(O)C", "c1ccccc1",
                                           "C1=CC=CC=C1", "CCN",   "not a smiles"};
  CHECK_THAT(mol::uniqueness(smiles), WithinAbs(3.0 / 5.0, 1e-15));
  // Stereoisomers are one molecule: canonical SMILES drop stereochemistry.
  CHECK_THAT(mol::uniqueness({"C[C@H](N)O", "C[C@@H](N)O"}), WithinAbs(0.5, 1e-15));
  CHECK_THAT(mol::uniqueness({"CCO", "CCN", ""}), WithinAbs(1.0, 1e-15));
  CHECK(std::isnan(mol::uniqueness({"", "C1CC"})));
  CHECK_THAT(metric("type = \"molecule.uniqueness\"", {})->compute(smiles), WithinAbs(0.6, 1e-15));
}

TEST_CASE("molecule.novelty is the share of distinct valid molecules not in the reference",
          "[plugins][molecule]") {
  svdd::test::TempDir dir;
  std::filesystem::create_directories(dir.path() / "ref");
  const auto file = dir.write("ref/molecules.csv",
                              "split,smiles,qed\n"
                              "train,OCC,0.4\n"
                              "train,c1ccccc1,0.4\n"
                              "test,CCN,0.4\n"
                              "train,C1CC,0.1\n");
  // Distinct valid samples: ethanol (twice, written two ways), ethylamine,
  // butane; the invalid one is not counted.
  const std::vector<std::string> smiles = {"CCO", "C(O)C", "CCN", "CCCC", "C1CC"};

  SECTION("all rows: only butane is new") {
    auto m = metric("type = \"molecule.novelty\"\nfile = \"ref/molecules.csv\"", dir.path());
    CHECK_THAT(m->compute(smiles), WithinAbs(1.0 / 3.0, 1e-15));
    CHECK(std::isnan(m->compute({"", "C1CC"})));
    CHECK_THAT(m->compute({"C1=CC=CC=C1"}), WithinAbs(0.0, 1e-15));
  }
  SECTION("the train rows: ethylamine is new too") {
    auto m = metric(
        "type = \"molecule.novelty\"\nfile = \"" + file.string() + "\"\nsplit = \"train\"", {});
    CHECK_THAT(m->compute(smiles), WithinAbs(2.0 / 3.0, 1e-15));
  }
  SECTION("the reference set counts rows and invalid rows") {
    mol::ReferenceParams params;
    params.file = "ref/molecules.csv";
    const auto reference = mol::load_reference_set(params, dir.path());
    CHECK(reference.rows == 4);
    CHECK(reference.invalid_rows == 1);
    CHECK(reference.molecules == std::unordered_set<std::string>{"CCO", "c1ccccc1", "CCN"});
  }
  SECTION("bad tables name the file and what exists") {
    CHECK_THROWS_WITH(
        metric("type = \"molecule.novelty\"\nfile = \"ref/molecules.csv\"\ncolumn = \"smile\"",
               dir.path()),
        Contains("molecules.csv") && Contains("smiles") && Contains("qed"));
    CHECK_THROWS_WITH(
        metric("type = \"molecule.novelty\"\nfile = \"ref/molecules.csv\"\nsplit = \"valid\"",
               dir.path()),
        Contains("molecules.csv") && Contains("test, train"));
    CHECK_THROWS_WITH(metric("type = \"molecule.novelty\"\nfile = \"ref/none.csv\"", dir.path()),
                      Contains("none.csv"));
    CHECK_THROWS_WITH(metric("type = \"molecule.novelty\"\nfile = \"ref/molecules.csv\"", {}),
                      Contains("data folder"));
    CHECK_THROWS_AS(metric("type = \"molecule.novelty\"\nfiles = \"x.csv\"", dir.path()),
                    svdd::InputError);
    CHECK_THROWS_AS(metric("type = \"molecule.validity\"\nfile = \"x.csv\"", dir.path()),
                    svdd::InputError);
  }
}

TEST_CASE("molecule.internal_diversity is 1 - mean pairwise Tanimoto similarity",
          "[plugins][molecule]") {
  SECTION("identical molecules: 0, however written") {
    CHECK_THAT(mol::internal_diversity({"CCO", "OCC", "C(O)C"}), WithinAbs(0.0, 1e-15));
  }
  SECTION("phenol and aniline, from python3-rdkit") {
    // /usr/bin/python3 -c "from rdkit import Chem, DataStructs; from rdkit.Chem import AllChem;
    //   fp = lambda s: AllChem.GetMorganFingerprintAsBitVect(Chem.MolFromSmiles(s), 2,
    //   nBits=2048); print(DataStructs.TanimotoSimilarity(fp('Oc1ccccc1'), fp('Nc1ccccc1')))"
    // -> 0.375
    CHECK_THAT(mol::internal_diversity({"Oc1ccccc1", "Nc1ccccc1"}), WithinAbs(0.625, 1e-12));
    // Invalid samples are left out, not counted as dissimilar.
    CHECK_THAT(mol::internal_diversity({"Oc1ccccc1", "", "Nc1ccccc1", "C1CC"}),
               WithinAbs(0.625, 1e-12));
  }
  SECTION("phenol, aniline and aspirin, from python3-rdkit") {
    // The same fp as above; import itertools;
    //   m = ['Oc1ccccc1', 'Nc1ccccc1', 'CC(=O)Oc1ccccc1C(=O)O'];
    //   s = [DataStructs.TanimotoSimilarity(fp(a), fp(b))
    //        for a, b in itertools.combinations(m, 2)]; print(1 - sum(s) / len(s))
    // -> 0.7227011494252873 (similarities 0.375, 0.25, 0.20689655172413793)
    auto m = metric("type = \"molecule.internal_diversity\"", {});
    CHECK_THAT(m->compute({"Oc1ccccc1", "Nc1ccccc1", "CC(=O)Oc1ccccc1C(=O)O"}),
               WithinRel(0.7227011494252873, 1e-12));
  }
  SECTION("fewer than two valid molecules: NaN") {
    CHECK(std::isnan(mol::internal_diversity({})));
    CHECK(std::isnan(mol::internal_diversity({"CCO", "", "C1CC"})));
  }
}

TEST_CASE("tanimoto_distances is 1 - Tanimoto, symmetric, and 1 for invalid SMILES",
          "[plugins][molecule]") {
  const std::vector<std::string> a = {"Oc1ccccc1", "Nc1ccccc1", "", "CCO", "C1CC"};
  const at::Tensor d = mol::tanimoto_distances(a, a);
  REQUIRE(d.sizes() == at::IntArrayRef({5, 5}));
  REQUIRE(d.dtype() == at::kDouble);
  REQUIRE(d.device().is_cpu());
  CHECK(at::equal(d, d.t()));
  CHECK(d.ge(0).all().item<bool>());
  CHECK(d.le(1).all().item<bool>());
  for (int64_t i : {0, 1, 3}) CHECK(d[i][i].item<double>() == 0.0);
  for (int64_t invalid : {2, 4}) {
    CHECK(d[invalid].eq(1).all().item<bool>());
    CHECK(d.select(1, invalid).eq(1).all().item<bool>());
  }
  // python3-rdkit: Tanimoto(phenol, aniline) = 0.375 (see internal_diversity);
  // Tanimoto(CCO, CCN) = 0.3333333333333333.
  CHECK_THAT(d[0][1].item<double>(), WithinAbs(0.625, 1e-12));
  const at::Tensor e =
      mol::tanimoto_distances({"CCO", "Oc1ccccc1"}, {"CCN", "OCC", "", "c1ccccc1O"});
  REQUIRE(e.sizes() == at::IntArrayRef({2, 4}));
  CHECK_THAT(e[0][0].item<double>(), WithinAbs(2.0 / 3.0, 1e-12));
  CHECK(e[0][1].item<double>() == 0.0);
  CHECK(e[1][3].item<double>() == 0.0);
  CHECK(e.select(1, 2).eq(1).all().item<bool>());
  CHECK(mol::tanimoto_distances({}, a).sizes() == at::IntArrayRef({0, 5}));
}

TEST_CASE("tanimoto_distances of 512 ZINC molecules: zero diagonal, far apart on average",
          "[plugins][molecule][data]") {
  mol::ReferenceParams params;
  const auto data = svdd::test::needs_data({params.file});
  if (!data) return;
  params.split = "test";
  std::vector<std::string> smiles;
  for (const auto& s : mol::load_reference_set(params, *data).molecules) {
    if (smiles.size() == 512) break;
    smiles.push_back(s);
  }
  REQUIRE(smiles.size() == 512);
  const at::Tensor d = mol::tanimoto_distances(smiles, smiles);
  CHECK(d.sizes() == at::IntArrayRef({512, 512}));
  CHECK(d.diagonal().eq(0).all().item<bool>());
  // Distinct ZINC molecules are far apart on average (MOSES reports IntDiv1
  // ~0.86 for its ZINC test set).
  CHECK(d.mean().item<double>() > 0.7);
}

TEST_CASE("molecule.novelty loads the ZINC subset and QM9 as reference sets",
          "[plugins][molecule][data]") {
  SECTION("ZINC250k subset") {
    check_reference_set("zinc250k_subset/zinc250k_subset_props.csv.gz", 29445);
  }
  SECTION("QM9") { check_reference_set("qm9_smiles/qm9_props.csv.gz", 133885); }
}
