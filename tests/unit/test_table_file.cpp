// Data tables: CSV and gzip-compressed TSV, and errors that name the place.
#include <zlib.h>

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
