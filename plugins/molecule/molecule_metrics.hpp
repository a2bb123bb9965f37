// The metrics that judge a set of generated molecules, as MOSES
// (Polykovskiy et al. 2020, "Molecular Sets") and GDSS (Jo et al. 2022)
// report them: validity, uniqueness, novelty against the training
// molecules, and internal diversity. Each reads a run's decoded samples as
// SMILES strings ("" for a sample that did not decode); molecules are
// compared by RDKit canonical SMILES without stereochemistry.
#pragma once

#include <filesystem>
#include <string>
#include <unordered_set>
#include <vector>

#include "svdd/params.hpp"
#include "svdd/registry.hpp"

namespace svdd::molecule {

// Registers molecule.validity, molecule.uniqueness, molecule.novelty and
// molecule.internal_diversity.
void register_molecule_metrics(Registry& registry);

// The figures themselves; each is NaN when its denominator is 0. A sample
// is valid when parse_smiles accepts it (it parses and sanitises) and
// canonical_smiles can write it back.
// Valid samples / all samples.
double validity(const std::vector<std::string>& smiles);
// Distinct canonical SMILES among the valid samples / valid samples: the
// definition of MOSES and GDSS, so a run with many invalid samples is not
// rewarded (or punished) twice; validity reports those.
double uniqueness(const std::vector<std::string>& smiles);
// Distinct valid molecules not in `reference` (canonical SMILES) /
// distinct valid molecules, as MOSES and GDSS define it.
double novelty(const std::vector<std::string>& smiles,
               const std::unordered_set<std::string>& reference);
// 1 - mean Tanimoto similarity (Morgan radius 2, 2048 bits) over the pairs
// i < j of valid samples, repeats kept. MOSES's IntDiv1 also averages the
// n self-pairs (similarity 1), which lowers it by a factor (n-1)/n; here a
// set of distinct molecules is not penalised for its size. NaN for fewer
// than 2 valid samples.
double internal_diversity(const std::vector<std::string>& smiles);

// Which molecules count as seen in training: one column of a data table,
// all rows or those whose `split_column` holds `split`.
struct ReferenceParams {
  std::string file = "zinc250k_subset/zinc250k_subset_props.csv.gz";
  std::string column = "smiles";
  std::string split = "all";
  std::string split_column = "split";
  void visit(ParamVisitor& v);
};

struct ReferenceSet {
  std::filesystem::path file;                 // resolved
  int64_t rows = 0;                           // rows selected
  int64_t invalid_rows = 0;                   // of those, SMILES RDKit refuses (left out)
  std::unordered_set<std::string> molecules;  // canonical SMILES
};

// Reads and canonicalises the reference molecules (in parallel). `file` is
// relative to `data_dir` unless absolute. Throws InputError naming the file
// for a missing file, an unknown column (listing those that exist) or a
// split value no row has (listing those that occur).
ReferenceSet load_reference_set(const ReferenceParams& params,
                                const std::filesystem::path& data_dir);

}  // namespace svdd::molecule
