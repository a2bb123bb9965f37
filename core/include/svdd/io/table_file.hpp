// Reading data tables: CSV or TSV files, plain or gzip-compressed (by the
// ".gz" suffix), with a header line. The public data sets under
// ../shared/data (enhancer activity, 5'UTR ribosome load, ZINC/QM9 SMILES)
// all come in this shape.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "svdd/export.hpp"

namespace svdd {

class SVDD_API Table {
 public:
  // Reads `file`; the separator is a tab for *.tsv[.gz] and a comma
  // otherwise (double-quoted fields allowed). Throws InputError for a
  // missing or unreadable file, or a row with another number of fields than
  // the header (naming the line).
  static Table read(const std::filesystem::path& file);

  const std::vector<std::string>& columns() const { return columns_; }
  int64_t rows() const { return static_cast<int64_t>(cells_.size()); }
  // The cells of one column; throws InputError naming the file and the
  // columns it has when `name` is not one of them.
  std::vector<std::string> column(const std::string& name) const;
  // The same, parsed as numbers; a cell that is not a finite number (nan and
  // inf are refused: a NaN label makes a NaN model) is an InputError naming
  // the line and the text.
  std::vector<double> numbers(const std::string& name) const;
  // The file's line number of row `row` (blank lines are skipped, so it is
  // not always row + 2).
  size_t line(int64_t row) const { return lines_.at(static_cast<size_t>(row)); }

 private:
  size_t index_of(const std::string& name) const;

  std::filesystem::path file_;
  std::vector<std::string> columns_;
  std::vector<std::vector<std::string>> cells_;
  std::vector<size_t> lines_;  // the file's line number of every row (blank lines are skipped)
};

}  // namespace svdd
