// Private: minimal CSV writing and reading (RFC 4180 quoting).
#pragma once

#include <map>
#include <string>
#include <vector>

namespace svdd {

std::string csv_field(const std::string& text);
std::string csv_line(const std::vector<std::string>& fields);
// Splits one CSV record (no embedded newlines) into fields.
std::vector<std::string> csv_split(const std::string& line);

}  // namespace svdd
