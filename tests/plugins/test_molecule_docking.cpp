// molecule.vina: the docking reward. The fast tests replace vina and obabel
// by small shell scripts written here, so they need neither program nor the
// receptors and check the plumbing (timeouts, failures, the cache, the
// temporary folder). The [.docking] tests run the real AutoDock Vina 1.2.3
// and Open Babel 3.1.1 against MOOD's parp1 receptor.
#include <sys/stat.h>

#include <chrono>
#include <fstream>
#include <iostream>
#include <sstream>

#include "catch_torch.hpp"
#include "needs_data.hpp"
#include "rdkit_support.hpp"
#include "smiles_domain.hpp"
#include "svdd/config/experiment.hpp"
#include "svdd/error.hpp"
#include "svdd/trainer.hpp"
#include "svdd/util/clock.hpp"
#include "toy_fixture.hpp"
#include "vina_docking.hpp"

using Catch::Contains;
using Catch::WithinAbs;
namespace mol = svdd::molecule;
using svdd::seconds_since;
using svdd::test::smiles_domain;

namespace {

// A stand-in for Open Babel: copies the SMILES (first line of the -ismi
// file) into the ligand file with one ATOM record, except for CCCCCl, for
// which it writes nothing (as Open Babel does with a SMILES it cannot read).
// It stalls on CCCCCCN always and on CCCCCCO the first time.
constexpr const char* kFakeObabel = R"(#!/bin/sh
case "$1" in -V) echo "fake obabel"; exit 0;; esac
while [ $# -gt 0 ]; do
  case "$1" in -ismi) in="$2";; -O) out="$2";; esac
  shift
done
smiles=$(head -n 1 "$in")
: > "$out"
case "$smiles" in
  CCCCCl) exit 0;;
  CCCCCCN) sleep 30;;
  CCCCCCO) [ -e "STALLED" ] || { : > "STALLED"; sleep 30; };;
esac
echo "$smiles" > "$out"
echo "ATOM      1  C   LIG     1       0.000   0.000   0.000  0.00  0.00     0.000 C" >> "$out"
)";

// A stand-in for Vina that appends a line to COUNT per docking (with its
// OMP_NUM_THREADS, which the reward sets to 1 for every child) and answers
// by the ligand's SMILES: CCCCO sleeps, CCCCN fails, CCCCS prints garbage;
// any other gets the affinity -(length of the SMILES + 0.5).
constexpr const char* kFakeVina = R"(#!/bin/sh
case "$1" in --version) echo "fake vina"; exit 0;; esac
while [ $# -gt 0 ]; do
  case "$1" in --ligand) ligand="$2";; --out) out="$2";; esac
  shift
done
echo "docked with OMP_NUM_THREADS=$OMP_NUM_THREADS" >> "COUNT"
smiles=$(head -n 1 "$ligand")
case "$smiles" in
  CCCCO) sleep 30;;
  CCCCN) echo "Error: something broke"; exit 1;;
  CCCCS) echo "garbage"; exit 0;;
esac
echo "REMARK VINA RESULT:    -${#smiles}.5      0.000      0.000" > "$out"
)";

// A folder with the fake programs, a dummy receptor and the count file.
struct FakePrograms {
  svdd::test::TempDir dir;
  std::filesystem::path count = dir.path() / "count.txt";

  FakePrograms() {
    std::string vina = kFakeVina;
    vina.replace(vina.find("COUNT"), 5, count.string());
    std::string obabel = kFakeObabel;
    obabel.replace(obabel.find("STALLED"), 7, (dir.path() / "stalled").string());
    obabel.replace(obabel.find("STALLED"), 7, (dir.path() / "stalled").string());
    for (const auto& [name, text] : {std::pair{"obabel", obabel}, std::pair{"vina", vina}}) {
      chmod(dir.write(name, text).c_str(), 0755);
    }
    dir.write("receptor.pdbqt", "ATOM\n");
  }

  mol::VinaParams params() const {
    mol::VinaParams p;
    p.receptor_file.path = dir.path() / "receptor.pdbqt";
    p.center = {0.0, 0.0, 0.0};
    p.size = {10.0, 10.0, 10.0};
    p.vina_program = (dir.path() / "vina").string();
    p.obabel_program = (dir.path() / "obabel").string();
    p.workers = 2;
    p.timeout_seconds = 10.0;
    return p;
  }

  // How often the fake vina docked; each with one OpenMP thread.
  int64_t dockings() const {
    std::ifstream in(count);
    int64_t n = 0;
    for (std::string line; std::getline(in, line);) {
      CHECK(line == "docked with OMP_NUM_THREADS=1");
      ++n;
    }
    return n;
  }
};

bool empty_folder(const std::filesystem::path& dir) {
  return std::filesystem::is_directory(dir) && std::filesystem::is_empty(dir);
}

// The reward an experiment's [reward] table builds, as a run would.
std::unique_ptr<svdd::RewardOracle> reward_from_table(const std::string& table,
                                                      const svdd::Domain& domain) {
  svdd::Registry registry;
  svdd::register_core_components(registry);
  mol::register_docking(registry);
  svdd::test::TempDir dir;
  auto file = dir.write("e.toml", "[model]\ntype = \"toy.categorical\"\n[reward]\n" + table +
                                      "\n[methods.p]\ntype = \"pretrained\"\n");
  auto experiment = svdd::load_experiment(file, {}, registry);
  svdd::BuildContext build;
  build.data_dir = svdd::default_data_dir();
  return registry.make<svdd::ComponentKind::reward>(experiment.runs[0].reward, build, domain);
}

}  // namespace

TEST_CASE("molecule.vina gives empty and invalid SMILES the invalid value without docking",
          "[plugins][molecule]") {
  FakePrograms fake;
  mol::VinaDocking reward(fake.params(), {});
  CHECK(reward.invalid_value() == 0.0);
  const std::vector<std::string> invalid = {"", "C1CC", "CF(C)C", "not a smiles"};
  for (double s : reward.score_smiles(invalid)) CHECK(s == 0.0);
  CHECK(fake.dockings() == 0);
  CHECK(reward.counts().invalid == 4);
  CHECK(reward.counts().docked == 0);
}

TEST_CASE("molecule.vina scores through score() with a [B] float64 tensor", "[plugins][molecule]") {
  FakePrograms fake;
  mol::VinaDocking reward(fake.params(), {});
  const std::vector<std::string> smiles = {"CCC", "", "CCCC"};
  const svdd::Domain domain = smiles_domain(smiles);
  at::Tensor x = at::arange(3, at::kLong).unsqueeze(1);
  at::Tensor s = reward.score(svdd::Samples(x, domain));
  REQUIRE(s.dtype() == at::kDouble);
  REQUIRE(s.sizes() == at::IntArrayRef{3});
  CHECK(s[0].item<double>() == 3.5);
  CHECK(s[1].item<double>() == 0.0);
  CHECK(s[2].item<double>() == 4.5);
}

TEST_CASE("molecule.vina refuses a program that cannot run and says how to install it",
          "[plugins][molecule]") {
  FakePrograms fake;
  mol::VinaParams p = fake.params();
  p.vina_program = "/no/such/vina";
  CHECK_THROWS_AS(mol::VinaDocking(p, {}), svdd::InputError);
  CHECK_THROWS_WITH(mol::VinaDocking(p, {}),
                    Contains("vina_program") && Contains("/no/such/vina") &&
                        Contains("sudo apt-get install autodock-vina openbabel"));
  p = fake.params();
  p.obabel_program = "no_such_obabel_program";
  CHECK_THROWS_WITH(mol::VinaDocking(p, {}),
                    Contains("obabel_program") && Contains("sudo apt-get install"));
}

TEST_CASE("molecule.vina names unknown receptors, missing files and missing boxes",
          "[plugins][molecule]") {
  svdd::test::TempDir data;
  std::filesystem::create_directories(data.path() / "docking_receptors_mood");
  data.write("docking_receptors_mood/boxes.tsv",
             "target\treceptor_file\tcenter_x\tcenter_y\tcenter_z\tsize_x\tsize_y\tsize_z\n"
             "alpha\talpha.pdbqt\t1\t2\t3\t20\t20\t20\n"
             "beta\tbeta.pdbqt\t4\t5\t6\t20\t20\t20\n");
  data.write("docking_receptors_mood/alpha.pdbqt", "ATOM\n");
  mol::VinaParams p;

  SECTION("a known receptor gets its file and box; center and size override the box") {
    p.receptor = "alpha";
    mol::DockingTarget t = mol::resolve_target(p, data.path());
    CHECK(t.receptor == data.path() / "docking_receptors_mood" / "alpha.pdbqt");
    CHECK(t.center == std::vector<double>{1, 2, 3});
    p.size = {10, 11, 12};
    CHECK(mol::resolve_target(p, data.path()).size == std::vector<double>{10, 11, 12});
  }
  SECTION("an unknown name lists the known ones") {
    p.receptor = "gamma";
    CHECK_THROWS_AS(mol::resolve_target(p, data.path()), svdd::InputError);
    CHECK_THROWS_WITH(mol::resolve_target(p, data.path()),
                      Contains("unknown receptor 'gamma'") && Contains("alpha, beta"));
  }
  SECTION("a listed receptor whose file is missing names the file") {
    p.receptor = "beta";
    CHECK_THROWS_WITH(mol::resolve_target(p, data.path()), Contains("beta.pdbqt not found"));
  }
  SECTION("no data folder") {
    CHECK_THROWS_WITH(mol::resolve_target(p, {}), Contains("SVDD_DATA_DIR"));
  }
  SECTION("receptor_file needs center and size and must exist") {
    p.receptor_file.path = data.path() / "docking_receptors_mood" / "alpha.pdbqt";
    CHECK_THROWS_WITH(mol::resolve_target(p, data.path()), Contains("needs center and size"));
    p.center = {0, 0, 0};
    p.size = {20, 20, 20};
    CHECK(mol::resolve_target(p, {}).receptor == p.receptor_file.path);
    p.receptor_file.path = data.path() / "missing.pdbqt";
    CHECK_THROWS_WITH(mol::resolve_target(p, {}), Contains("missing.pdbqt not found"));
  }
}

TEST_CASE("molecule.vina's table: refused keys and values", "[plugins][molecule]") {
  const svdd::Domain domain = smiles_domain({"C"});
  CHECK_THROWS_WITH(reward_from_table("type = \"molecule.vina\"\nreceptors = \"parp1\"", domain),
                    Contains("unknown key 'receptors'"));
  CHECK_THROWS_AS(reward_from_table("type = \"molecule.vina\"\ncenter = [1.0, 2.0]", domain),
                  svdd::InputError);
  CHECK_THROWS_AS(reward_from_table("type = \"molecule.vina\"\ntimeout_seconds = 0.0", domain),
                  svdd::InputError);
  CHECK_THROWS_AS(reward_from_table("type = \"molecule.vina\"\nexhaustiveness = 0", domain),
                  svdd::InputError);
}

TEST_CASE("molecule.vina's table: MOOD's receptors by name", "[plugins][molecule][data]") {
  const auto data = svdd::test::needs_data({"docking_receptors_mood/boxes.tsv"});
  if (!data) return;
  const svdd::Domain domain = smiles_domain({"C"});
  CHECK_THROWS_WITH(
      reward_from_table("type = \"molecule.vina\"\nreceptor = \"parp2\"\nvina_program = "
                        "\"/no/such/vina\"",
                        domain),
      Contains("unknown receptor 'parp2'") && Contains("5ht1b, braf, fa7, jak2, parp1"));
  // Every receptor of MOOD and SVDD resolves to an existing file and a box.
  for (const std::string name : {"parp1", "fa7", "5ht1b", "braf", "jak2"}) {
    mol::VinaParams p;
    p.receptor = name;
    const mol::DockingTarget t = mol::resolve_target(p, svdd::default_data_dir());
    CHECK(std::filesystem::is_regular_file(t.receptor));
    CHECK(t.size.size() == 3);
  }
  SECTION("parp1's box as MOOD's scorer/docking.py has it") {
    const mol::DockingTarget t = mol::resolve_target(mol::VinaParams{}, svdd::default_data_dir());
    CHECK(t.center == std::vector<double>{26.413, 11.282, 27.238});
    CHECK(t.size == std::vector<double>{18.521, 17.479, 19.995});
  }
}

TEST_CASE(
    "a ligand over the timeout gets the invalid value and the call returns in about the timeout",
    "[plugins][molecule]") {
  FakePrograms fake;
  mol::VinaParams p = fake.params();
  p.timeout_seconds = 1.0;
  mol::VinaDocking reward(p, {});
  const auto start = std::chrono::steady_clock::now();
  const std::vector<double> s = reward.score_smiles({"OCCCC", "CCCC"});
  const double seconds = seconds_since(start);
  CHECK(s == std::vector<double>{0.0, 4.5});
  CHECK(seconds >= 0.9);
  CHECK(seconds < 5.0);  // the fake sleeps 30 s: it was killed
  CHECK(reward.counts().failures == 1);
  CHECK(empty_folder(reward.work_dir()));
  // A timeout is not cached: the molecule is tried again.
  reward.score_smiles({"CCCCO"});
  CHECK(fake.dockings() == 3);
}

TEST_CASE("obabel is tried again after a timeout", "[plugins][molecule]") {
  FakePrograms fake;
  mol::VinaParams p = fake.params();
  p.obabel_timeout_seconds = 0.5;
  p.obabel_attempts = 2;
  mol::VinaDocking reward(p, {});
  const auto start = std::chrono::steady_clock::now();
  const std::vector<double> s = reward.score_smiles({"OCCCCCC", "NCCCCCC", "CCC"});
  const double seconds = seconds_since(start);
  CHECK(s == std::vector<double>{7.5, 0.0, 3.5});
  CHECK(seconds >= 0.9);  // two attempts of 0.5 s for NCCCCCC
  CHECK(seconds < 5.0);
  CHECK(reward.counts().failures == 1);
  CHECK(fake.dockings() == 2);
  CHECK(empty_folder(reward.work_dir()));
}

TEST_CASE(
    "a failing or garbled docking gives the invalid value and the rest of the batch is scored",
    "[plugins][molecule]") {
  FakePrograms fake;
  mol::VinaDocking reward(fake.params(), {});
  const std::vector<double> s = reward.score_smiles({"CCCCN", "CCC", "CCCCS", "CCCCCl", "CCCC"});
  CHECK(s == std::vector<double>{0.0, 3.5, 0.0, 0.0, 4.5});
  CHECK(reward.counts().docked == 5);
  CHECK(reward.counts().failures == 3);
  CHECK(fake.dockings() == 4);  // obabel failed for CCCCCl: vina never ran
  CHECK(empty_folder(reward.work_dir()));
}

TEST_CASE("molecule.vina docks a molecule once however it is written", "[plugins][molecule]") {
  FakePrograms fake;
  mol::VinaDocking reward(fake.params(), {});
  CHECK(reward.score_smiles({"OCC", "C(O)C", "CCC"}) == std::vector<double>{3.5, 3.5, 3.5});
  CHECK(fake.dockings() == 2);
  CHECK(reward.score_smiles({"CCO"}) == std::vector<double>{3.5});
  CHECK(fake.dockings() == 2);
  const mol::DockingCounts counts = reward.counts();
  CHECK(counts.docked == 2);
  CHECK(counts.cache_hits == 2);
  CHECK(counts.failures == 0);
  // Failures other than timeouts are cached too.
  reward.score_smiles({"CCCCN", "NCCCC"});
  CHECK(fake.dockings() == 3);
}

TEST_CASE("molecule.vina removes its temporary folder", "[plugins][molecule]") {
  FakePrograms fake;
  std::filesystem::path dir;
  {
    mol::VinaDocking reward(fake.params(), {});
    dir = reward.work_dir();
    CHECK(std::filesystem::is_directory(dir));
    reward.score_smiles({"CCC", "CCCCN"});
    CHECK(empty_folder(dir));
  }
  CHECK_FALSE(std::filesystem::exists(dir));
}

TEST_CASE("parse_vina_result reads the best mode of Vina's output", "[plugins][molecule]") {
  CHECK(mol::parse_vina_result("MODEL 1\nREMARK VINA RESULT:    -5.903      0.000      0.000\n"
                               "REMARK VINA RESULT:    -6.0 0 0\n") == -5.903);
  CHECK_FALSE(mol::parse_vina_result("MODEL 1\nATOM\n"));
  CHECK_FALSE(mol::parse_vina_result("REMARK VINA RESULT:   nan 0 0\n"));
  CHECK_FALSE(mol::parse_vina_result("REMARK VINA RESULT:\n"));
}

// ---- the real programs ------------------------------------------------------

TEST_CASE("docking paracetamol against parp1 with AutoDock Vina", "[.docking][molecule][data]") {
  const auto data = svdd::test::needs_data({"docking_receptors_mood/parp1.pdbqt"});
  if (!data) return;
  mol::VinaParams p;  // parp1, exhaustiveness 1, as MOOD and SVDD
  p.workers = 1;
  const std::string paracetamol = "CC(=O)Nc1ccc(O)cc1";
  std::filesystem::path dir;
  double first = 0.0;
  {
    mol::VinaDocking reward(p, svdd::default_data_dir());
    dir = reward.work_dir();
    const auto start = std::chrono::steady_clock::now();
    first = reward.score_smiles({paracetamol}).at(0);
    const double seconds = seconds_since(start);
    std::cout << "molecule.vina: paracetamol against parp1 (exhaustiveness 1): reward " << first
              << " in " << seconds << " s\n";
    // MOOD-style docking scores of small drug-like ligands lie in 3-12.
    CHECK(first > 3.0);
    CHECK(first < 12.0);
    CHECK(reward.counts().failures == 0);
    CHECK(empty_folder(dir));
  }
  CHECK_FALSE(std::filesystem::exists(dir));

  SECTION("the same seed reproduces the score") {
    // Vina is deterministic for a seed, but Open Babel's conformer search
    // (--gen3d) seeds itself from the clock, so the ligand's geometry, and
    // with it the score, varies a little (about 0.1 kcal/mol here).
    mol::VinaDocking again(p, svdd::default_data_dir());
    CHECK_THAT(again.score_smiles({paracetamol}).at(0), WithinAbs(first, 0.5));
  }
  SECTION("a batch runs in parallel and bigger ligands score higher") {
    p.workers = 2;
    mol::VinaDocking reward(p, svdd::default_data_dir());
    const auto start = std::chrono::steady_clock::now();
    // Paracetamol, and olaparib (a PARP1 inhibitor).
    const std::vector<double> s = reward.score_smiles(
        {paracetamol, "O=C(c1cc(Cc2n[nH]c(=O)c3ccccc23)ccc1F)N1CCN(C(=O)C2CC2)CC1"});
    std::cout << "molecule.vina: paracetamol and olaparib on 2 workers: " << s[0] << ", " << s[1]
              << " in " << seconds_since(start) << " s\n";
    CHECK(s[1] > s[0]);
    // A sanity bound, not a target: olaparib scored 10.7 to 11.8 in most
    // runs and once 17.3 (Open Babel's clock-seeded conformer varies).
    CHECK(s[1] < 25.0);
  }
}
