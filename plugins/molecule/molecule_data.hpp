// Molecule data sets as SELFIES token tables: a CSV/TSV (optionally .gz)
// column of SMILES under the data folder (ZINC250k subset, QM9), split by
// molecule into training and held-out test rows, written as SELFIES and
// padded with [nop] to one length.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "svdd/params.hpp"

namespace svdd::molecule {

struct MoleculeDataParams {
  std::string file = "zinc250k_subset/zinc250k_subset_props.csv.gz";
  std::string column = "smiles";
  int64_t split_seed = 0;
  double test_fraction = 0.05;
  void visit(ParamVisitor& v);
};

// The canonical SMILES (no stereochemistry) of one part of the split, in
// file order. Each molecule's part depends only on its canonical SMILES and
// split_seed. Throws InputError naming the file or column.
struct MoleculeSplit {
  std::filesystem::path file;  // absolute
  std::string sha1;
  int64_t rows_in_file = 0, invalid_rows = 0;
  std::vector<std::string> train, test;
};
MoleculeSplit load_molecule_split(const MoleculeDataParams& params,
                                  const std::filesystem::path& data_dir);

// Molecules as token rows. `vocabulary` maps ids to tokens (id 0 is
// [nop]); `dropped` counts molecules that could not be written: not
// writable as SELFIES, longer than the length, or (for test rows) using a
// token the training rows never use.
struct TokenTable {
  at::Tensor tokens;  // [N, length] int64 CPU
  std::vector<std::string> smiles;
  int64_t dropped = 0;
};
// The vocabulary of `smiles` (most frequent first, after [nop]) and the
// length of their longest SELFIES, capped at `max_length` when it is > 0.
std::vector<std::string> selfies_vocabulary(const std::vector<std::string>& smiles,
                                            int64_t max_length, int64_t& length);
TokenTable tokenize(const std::vector<std::string>& smiles,
                    const std::vector<std::string>& vocabulary, int64_t length);

}  // namespace svdd::molecule
