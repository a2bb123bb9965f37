// Fuzzes svdd::Table::read, the reader of data tables (CSV or TSV, plain or
// gzip-compressed), and the column accessors every data-reading component
// calls on its result.
//
// Input: the first byte picks the file's name and form, the rest is the
// file: name (byte % 6) t.csv, t.tsv, t.csv.gz or t.tsv.gz with the rest
// gzip-compressed by the target (so mutations reach the table parser), or
// t.csv.gz, t.tsv.gz holding the rest as it is (real or damaged gzip).
//
// A finding: a crash, sanitizer report, hang, memory blow-up, an exception
// other than svdd::Error, or a column whose length differs from rows().
#include <string>

#include "fuzz_input.hpp"
#include "svdd/io/table_file.hpp"

namespace {

// The most columns whose accessors one input exercises: enough for every
// branch, few enough that a wide header stays fast.
constexpr size_t kColumnsRead = 8;

std::filesystem::path table_file_of(std::string_view input) {
  const auto form = input.empty() ? 0 : static_cast<unsigned char>(input[0]) % 6;
  const std::string_view content = input.empty() ? input : input.substr(1);
  switch (form) {
    case 0:
      return svdd::fuzz::scratch_file("t.csv", content);
    case 1:
      return svdd::fuzz::scratch_file("t.tsv", content);
    case 2:
      return svdd::fuzz::scratch_gzip_file("t.csv.gz", content);
    case 3:
      return svdd::fuzz::scratch_gzip_file("t.tsv.gz", content);
    case 4:
      return svdd::fuzz::scratch_file("t.csv.gz", content);
    default:
      return svdd::fuzz::scratch_file("t.tsv.gz", content);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto file = table_file_of(svdd::fuzz::bytes_of(data, size));
  svdd::fuzz::accepted([&] {
    const svdd::Table table = svdd::Table::read(file);
    for (size_t c = 0; c < table.columns().size() && c < kColumnsRead; ++c) {
      const std::string& name = table.columns()[c];
      const auto cells = table.column(name);
      svdd::fuzz::check_that(static_cast<int64_t>(cells.size()) == table.rows(),
                             "a column has rows() cells");
      svdd::fuzz::accepted([&] {
        svdd::fuzz::check_that(static_cast<int64_t>(table.numbers(name).size()) == table.rows(),
                               "a numeric column has rows() numbers");
      });
    }
    svdd::fuzz::accepted([&] { table.column("no such column"); });
  });
  return 0;
}
