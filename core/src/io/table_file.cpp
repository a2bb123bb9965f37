#include "svdd/io/table_file.hpp"

#include <fmt/format.h>
#include <zlib.h>

#include <cerrno>
#include <cmath>
#include <cstdlib>

#include "svdd/error.hpp"
#include "svdd/io/csv.hpp"

namespace svdd {
namespace {

// Every line of a plain or gzip file (zlib reads both), without line ends.
std::vector<std::string> read_lines(const std::filesystem::path& file) {
  if (!std::filesystem::is_regular_file(file)) {
    throw InputError(fmt::format("data file not found: {}", file.string()));
  }
  gzFile in = gzopen(file.c_str(), "rb");
  if (!in) throw InputError(fmt::format("cannot open {}", file.string()));
  std::vector<std::string> lines;
  std::string line;
  char buffer[1 << 16];
  while (gzgets(in, buffer, sizeof buffer)) {
    line += buffer;
    if (!line.empty() && line.back() == '\n') {
      while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
      lines.push_back(std::move(line));
      line.clear();
    }
  }
  int error = Z_OK;
  // gzerror's text belongs to the stream: copy it before gzclose frees it.
  const std::string message = gzerror(in, &error);
  gzclose(in);
  if (error != Z_OK && error != Z_STREAM_END) {
    throw InputError(fmt::format("{} is damaged: {}", file.string(), message));
  }
  if (!line.empty()) lines.push_back(line);
  return lines;
}

std::vector<std::string> split_tabs(const std::string& line) {
  std::vector<std::string> fields(1);
  for (char c : line) {
    if (c == '\t') {
      fields.emplace_back();
    } else {
      fields.back() += c;
    }
  }
  return fields;
}

}  // namespace

Table Table::read(const std::filesystem::path& file) {
  std::string name = file.filename().string();
  if (name.size() > 3 && name.substr(name.size() - 3) == ".gz") name.resize(name.size() - 3);
  const bool tabs = name.size() > 4 && name.substr(name.size() - 4) == ".tsv";
  const auto lines = read_lines(file);
  if (lines.empty()) throw InputError(fmt::format("{} is empty (no header line)", file.string()));
  Table table;
  table.file_ = file;
  table.columns_ = tabs ? split_tabs(lines[0]) : csv_split(lines[0]);
  for (size_t i = 1; i < lines.size(); ++i) {
    if (lines[i].empty()) continue;
    auto fields = tabs ? split_tabs(lines[i]) : csv_split(lines[i]);
    if (fields.size() != table.columns_.size()) {
      throw InputError(fmt::format("{}:{}: {} fields, the header has {}", file.string(), i + 1,
                                   fields.size(), table.columns_.size()));
    }
    table.cells_.push_back(std::move(fields));
    table.lines_.push_back(i + 1);
  }
  return table;
}

size_t Table::index_of(const std::string& name) const {
  for (size_t i = 0; i < columns_.size(); ++i) {
    if (columns_[i] == name) return i;
  }
  throw InputError(fmt::format("{} has no column '{}' (columns: {})", file_.string(), name,
                               fmt::join(columns_, ", ")));
}

std::vector<std::string> Table::column(const std::string& name) const {
  const size_t c = index_of(name);
  std::vector<std::string> out;
  out.reserve(cells_.size());
  for (const auto& row : cells_) out.push_back(row[c]);
  return out;
}

std::vector<double> Table::numbers(const std::string& name) const {
  const size_t c = index_of(name);
  std::vector<double> out;
  out.reserve(cells_.size());
  for (size_t i = 0; i < cells_.size(); ++i) {
    const std::string& text = cells_[i][c];
    char* end = nullptr;
    errno = 0;
    const double value = std::strtod(text.c_str(), &end);
    if (text.empty() || end != text.c_str() + text.size() || errno == ERANGE) {
      throw InputError(fmt::format("{}:{}: column '{}': '{}' is not a number", file_.string(),
                                   lines_[i], name, text));
    }
    if (!std::isfinite(value)) {
      throw InputError(fmt::format("{}:{}: column '{}': '{}' is not a finite number",
                                   file_.string(), lines_[i], name, text));
    }
    out.push_back(value);
  }
  return out;
}

}  // namespace svdd
