// The synthetic accessibility (SA) score: Ertl & Schuffenhauer, "Estimation
// of synthetic accessibility score of drug-like molecules based on molecular
// complexity and fragment contributions", J. Cheminform. 1, 8 (2009), as
// RDKit's Contrib/SA_Score/sascorer.py (Ertl & Landrum, 2013) computes it,
// including its two changes to the paper: one fixed macrocycle penalty and a
// fingerprint-density bonus for symmetric molecules. 1 = easy, 10 = hard.
#pragma once

#include <GraphMol/ROMol.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <vector>

namespace svdd::molecule {

// The fragment contributions: unfolded Morgan (radius 2) bit id -> score,
// learned from PubChem by Ertl & Schuffenhauer (RDKit's fpscores.pkl.gz,
// converted to the plain table <data>/sa_score_fpscores/fpscores.tsv.gz).
class FragmentScores {
 public:
  // The table at `tsv_gz` (gzip TSV, header `fragment_id<TAB>score`). Each
  // path is read once per process and then shared (thread-safe). Throws
  // InputError naming the file when it is missing or malformed.
  static std::shared_ptr<const FragmentScores> load(const std::filesystem::path& tsv_gz);

  // The contribution of a fragment; RDKit counts an unknown one as -4.
  double operator[](uint32_t fragment_id) const;
  size_t size() const { return ids_.size(); }

 private:
  std::vector<uint32_t> ids_;  // sorted ascending
  std::vector<double> scores_;
};

// The table's place in the shared data folder.
std::filesystem::path fragment_scores_path(const std::filesystem::path& data_dir);

// The SA score in [1, 10] of a sanitized molecule. May throw what RDKit
// throws; callers catch.
double sa_score(const RDKit::ROMol& molecule, const FragmentScores& fragments);

}  // namespace svdd::molecule
