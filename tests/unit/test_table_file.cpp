// Data tables: CSV and gzip-compressed TSV, and errors that name the place.
#include <zlib.h>

#include <fstream>
#include <iterator>

#include "catch_torch.hpp"
#include "needs_data.hpp"
#include "svdd/config/experiment.hpp"
#include "svdd/error.hpp"
#include "svdd/io/table_file.hpp"
#include "toy_fixture.hpp"

using Catch::Contains;

TEST_CASE("tables read CSV and gzip TSV files", "[unit][table]") {
  svdd::test::TempDir dir;
  auto csv = dir.write("a.csv", "seq,value\nACGT,1.5\n\"GG,CC\",-2\n");
  auto table = svdd::Table::read(csv);
  CHECK(table.columns() == std::vector<std::string>{"seq", "value"});
  CHECK(table.rows() == 2);
  CHECK(table.column("seq") == std::vector<std::string>{"ACGT", "GG,CC"});
  CHECK(table.numbers("value") == std::vector<double>{1.5, -2.0});

  const auto gz = dir.path() / "b.tsv.gz";
  gzFile out = gzopen(gz.c_str(), "wb");
  const std::string text = "id\tactivity\nenh1\t0.25\r\nenh1_Reversed\t0.5\n";
  gzwrite(out, text.data(), static_cast<unsigned>(text.size()));
  gzclose(out);
  auto tsv = svdd::Table::read(gz);
  CHECK(tsv.column("id") == std::vector<std::string>{"enh1", "enh1_Reversed"});
  CHECK(tsv.numbers("activity") == std::vector<double>{0.25, 0.5});

  CHECK_THROWS_WITH(table.column("activity"),
                    Contains("no column 'activity' (columns: seq, value)"));
  CHECK_THROWS_WITH(svdd::Table::read(dir.write("c.csv", "x,y\n1,2\n3\n")),
                    Contains("c.csv:3: 1 fields, the header has 2"));
  CHECK_THROWS_WITH(svdd::Table::read(dir.write("d.csv", "x\n1\nabc\n")).numbers("x"),
                    Contains("d.csv:3: column 'x': 'abc' is not a number"));
  CHECK_THROWS_WITH(svdd::Table::read(dir.path() / "missing.csv"), Contains("data file not found"));
}

// A nan or inf label trained a NaN model that was written as a checkpoint;
// the line number skipped no blank line (issue 13 item 9).
TEST_CASE("a label that is not a finite number is refused with its file and line",
          "[unit][table]") {
  svdd::test::TempDir dir;
  CHECK_THROWS_WITH(svdd::Table::read(dir.write("n.csv", "x\n1\nnan\n")).numbers("x"),
                    Contains("n.csv:3: column 'x': 'nan' is not a finite number"));
  CHECK_THROWS_WITH(svdd::Table::read(dir.write("i.csv", "x\n1\n\n-inf\n")).numbers("x"),
                    Contains("i.csv:4: column 'x': '-inf' is not a finite number"));
  CHECK_THROWS_WITH(svdd::Table::read(dir.write("e.csv", "x\n\n1\nabc\n")).numbers("x"),
                    Contains("e.csv:4: column 'x': 'abc' is not a number"));
  CHECK_THROWS_AS(svdd::Table::read(dir.write("o.csv", "x\n1e999\n")).numbers("x"),
                  svdd::InputError);
}

// The message of a damaged .gz comes from zlib's stream; it was read after
// the stream was closed, so it printed different garbage each time.
TEST_CASE("a damaged gzip table gives the same clear message every time", "[unit][table]") {
  svdd::test::TempDir dir;
  const auto gz = dir.path() / "damaged.tsv.gz";
  gzFile out = gzopen(gz.c_str(), "wb");
  std::string text = "id\tactivity\n";
  for (int i = 0; i < 2000; ++i)
    text += "enh" + std::to_string(i) + "\t" + std::to_string(i % 7) + "\n";
  gzwrite(out, text.data(), static_cast<unsigned>(text.size()));
  gzclose(out);
  // Flip bytes in the middle of the deflate stream.
  std::string bytes;
  {
    std::ifstream in(gz, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  REQUIRE(bytes.size() > 64);
  for (size_t i = bytes.size() / 2; i < bytes.size() / 2 + 16; ++i) bytes[i] = char(~bytes[i]);
  std::ofstream(gz, std::ios::binary | std::ios::trunc) << bytes;

  auto message = [&] {
    try {
      svdd::Table::read(gz);
    } catch (const svdd::InputError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  const std::string first = message();
  CHECK_THAT(first, Contains("damaged.tsv.gz is damaged: "));
  // zlib's own words for a corrupt stream, not freed memory.
  const std::string reason = first.substr(first.find("is damaged: ") + 12);
  CHECK(reason.find_first_not_of(
            "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 -_()'.:,/") ==
        std::string::npos);
  CHECK(reason.size() >= 5);
  for (int i = 0; i < 5; ++i) CHECK(message() == first);
}

TEST_CASE("the shared enhancer table reads when the data folder is there", "[unit][table][data]") {
  const std::string name = "agarwal2025_lentimpra_hepg2/hepg2_lentimpra_200bp.tsv.gz";
  const auto data = svdd::test::needs_data({name});
  if (!data) return;
  const auto file = *data / name;
  auto table = svdd::Table::read(file);
  // SOURCE.md: 24,590 elements with HepG2 activity.
  CHECK(table.rows() == 24590);
  CHECK(table.column("seq200")[0].size() == 200);
  CHECK(table.numbers("hepg2_log2_rna_dna").size() == 24590);
}
