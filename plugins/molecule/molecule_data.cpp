#include "molecule_data.hpp"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <unordered_map>

#include "rdkit_support.hpp"
#include "selfies.hpp"
#include "svdd/config/experiment.hpp"
#include "svdd/error.hpp"
#include "svdd/io/table_file.hpp"
#include "svdd/trainer.hpp"
#include "svdd/training/card.hpp"
#include "svdd/util/seeding.hpp"

namespace svdd::molecule {

void MoleculeDataParams::visit(ParamVisitor& v) {
  v.field("file", file,
          "table of molecules, relative to the data folder (zinc250k_subset/"
          "zinc250k_subset_props.csv.gz, qm9_smiles/qm9_props.csv.gz) or absolute");
  v.require(!file.empty(), "file", "is required");
  v.field("column", column, "the column holding SMILES");
  v.field("split_seed", split_seed, "seed of the molecule-level train/test split");
  v.field("test_fraction", test_fraction, "share of molecules held out as the test part");
  v.in_open_range("test_fraction", test_fraction, 0, 1);
}

MoleculeSplit load_molecule_split(const MoleculeDataParams& p,
                                  const std::filesystem::path& data_dir) {
  MoleculeSplit split;
  split.file = std::filesystem::absolute(data_file_path(p.file, data_dir, "molecule data"));
  const Table table = Table::read(split.file);
  split.sha1 = file_sha1(split.file);
  const auto smiles = table.column(p.column);
  split.rows_in_file = static_cast<int64_t>(smiles.size());
  const auto threshold = static_cast<uint64_t>(p.test_fraction * 18446744073709551615.0);
  for (const auto& s : smiles) {
    std::string canonical = canonical_smiles(s);
    if (canonical.empty()) {
      ++split.invalid_rows;
      continue;
    }
    const bool test = stream_seed(p.split_seed, canonical, 0) < threshold;
    (test ? split.test : split.train).push_back(std::move(canonical));
  }
  return split;
}

std::vector<std::string> selfies_vocabulary(const std::vector<std::string>& smiles,
                                            int64_t max_length, int64_t& length) {
  std::unordered_map<std::string, int64_t> counts;
  length = 0;
  for (const auto& s : smiles) {
    auto tokens = smiles_to_selfies(s);
    if (!tokens) continue;
    const auto size = static_cast<int64_t>(tokens->size());
    if (max_length > 0 && size > max_length) continue;
    length = std::max(length, size);
    for (const auto& t : *tokens) ++counts[t];
  }
  std::vector<std::pair<std::string, int64_t>> sorted(counts.begin(), counts.end());
  std::sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) {
    return a.second != b.second ? a.second > b.second : a.first < b.first;
  });
  std::vector<std::string> vocabulary{kPaddingToken};
  for (const auto& [token, count] : sorted) vocabulary.push_back(token);
  return vocabulary;
}

TokenTable tokenize(const std::vector<std::string>& smiles,
                    const std::vector<std::string>& vocabulary, int64_t length) {
  std::unordered_map<std::string, int64_t> id;
  for (size_t i = 0; i < vocabulary.size(); ++i) id[vocabulary[i]] = static_cast<int64_t>(i);
  TokenTable table;
  std::vector<int64_t> rows;
  for (const auto& s : smiles) {
    auto tokens = smiles_to_selfies(s);
    bool ok = tokens && static_cast<int64_t>(tokens->size()) <= length;
    for (size_t l = 0; ok && l < tokens->size(); ++l) ok = id.count((*tokens)[l]) > 0;
    if (!ok) {
      ++table.dropped;
      continue;
    }
    for (int64_t l = 0; l < length; ++l) {
      rows.push_back(l < static_cast<int64_t>(tokens->size()) ? id[(*tokens)[l]] : 0);
    }
    table.smiles.push_back(s);
  }
  const auto n = static_cast<int64_t>(table.smiles.size());
  table.tokens = at::from_blob(rows.data(), {n, length}, at::kLong).clone();
  return table;
}

}  // namespace svdd::molecule
