// Minimal CSV writing and reading (RFC 4180 quoting), as in the result files
// of a run (samples.csv, batches.csv, summary.csv).
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "svdd/export.hpp"

namespace svdd {

SVDD_API std::string csv_field(const std::string& text);
SVDD_API std::string csv_line(const std::vector<std::string>& fields);
// Splits one CSV record (no embedded newlines) into fields.
SVDD_API std::vector<std::string> csv_split(const std::string& line);

// Reads a CSV file with a header line: rows of column -> text. Throws
// InputError when the file cannot be read.
SVDD_API std::vector<std::map<std::string, std::string>> read_csv(
    const std::filesystem::path& file);

}  // namespace svdd
