// molecule.vina: the docking score of a molecule against a protein pocket,
// as MOOD (Lee et al., ICML 2023, scorer/docking.py) and SVDD's molecule
// experiments (Li et al., arXiv:2408.08252, Sec. 6) reward it:
//   reward = max(-affinity, 0),
// the affinity (kcal/mol) of the best pose AutoDock Vina finds for a 3-D
// conformer that Open Babel builds from the SMILES. Both programs run as
// child processes (`vina`, `obabel`; Debian: autodock-vina, openbabel), one
// molecule per worker thread, each with a deadline.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "svdd/params.hpp"
#include "svdd/registry.hpp"
#include "svdd/reward_oracle.hpp"

namespace svdd::molecule {

// Registers molecule.vina.
void register_docking(Registry& registry);

struct VinaParams {
  std::string receptor = "parp1";
  FilePath receptor_file;
  std::vector<double> center;
  std::vector<double> size;
  int64_t exhaustiveness = 1;
  int64_t seed = 42;
  int64_t num_modes = 10;
  int64_t workers = 0;
  double timeout_seconds = 100.0;
  double obabel_timeout_seconds = 30.0;
  int64_t obabel_attempts = 2;
  std::string vina_program = "vina";
  std::string obabel_program = "obabel";
  void visit(ParamVisitor& v);
};

// A receptor and its search box (Angstrom).
struct DockingTarget {
  std::filesystem::path receptor;
  std::vector<double> center;  // x, y, z
  std::vector<double> size;    // x, y, z
};

// The target `params` names: a receptor of <data_dir>/docking_receptors_mood
// with its box from boxes.tsv (center/size override it), or receptor_file
// with center and size. Throws InputError for an unknown name (listing the
// known ones), a missing file or a missing box.
DockingTarget resolve_target(const VinaParams& params, const std::filesystem::path& data_dir);

// The affinity of the first "REMARK VINA RESULT:" line of Vina's output
// PDBQT (the best mode), or nullopt when there is none or it is not a
// finite number.
std::optional<double> parse_vina_result(std::string_view pdbqt);

// What a docking reward has done since it was made.
struct DockingCounts {
  int64_t docked = 0;      // ligands sent through obabel and vina
  int64_t cache_hits = 0;  // molecules answered from the cache (or by a twin in the batch)
  int64_t failures = 0;    // docked ligands that got the invalid value
  int64_t invalid = 0;     // empty or unparsable SMILES (never docked)
};

class VinaDocking final : public RewardOracle {
 public:
  // Checks that both programs run and the receptor exists; throws
  // InputError otherwise. Makes the reward's temporary folder.
  VinaDocking(const VinaParams& params, const std::filesystem::path& data_dir);
  // Removes the temporary folder.
  ~VinaDocking() override;
  VinaDocking(const VinaDocking&) = delete;
  VinaDocking& operator=(const VinaDocking&) = delete;

  // [B] float64 CPU: max(-affinity, 0) per decoded SMILES; invalid_value()
  // for an empty or invalid SMILES and for a molecule whose preparation or
  // docking failed or timed out (each failure logged as a warning).
  at::Tensor score(const Samples& samples) override;
  // 0: the same as "no binding". MOOD and SVDD set a failed docking's
  // affinity to 99.9, which max(-affinity, 0) also maps to 0.
  double invalid_value() const override { return 0.0; }

  DockingCounts counts() const;
  const std::filesystem::path& work_dir() const;

  // Scores SMILES strings directly (what score() does with decoded()).
  std::vector<double> score_smiles(const std::vector<std::string>& smiles);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace svdd::molecule
