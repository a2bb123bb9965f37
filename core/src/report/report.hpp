// Private: `svdd report`, the pages and tables a researcher puts in a paper,
// read from run folders' files (summary.csv, samples.csv, diagnostics.csv,
// config.toml), so that a report can be remade from any finished or
// interrupted folder without rerunning anything.
//   report.html   one self-contained page (figures inlined as data URIs,
//                 no network) with every experiment's short table and
//                 figures, linking each figure's SVG, PNG and CSV beside it
//   figures/      <experiment>_<figure>.{svg,png,csv}
//   table1.md/csv one block per experiment: rows = metrics, columns = runs,
//                 the best two of each reward row in bold, and the seed
//                 paper's Table 1 figures where [report] paper_table names
//                 its task
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "svdd/config/experiment.hpp"
#include "svdd/domain.hpp"
#include "svdd/sample_set_metric.hpp"

namespace svdd {

// One run folder to report on, with what only its components know: how its
// domain draws samples (null: no pictures), its set metrics (their names and
// spectra) and its methods' types (which run is pretrained).
struct ReportSource {
  std::filesystem::path dir;
  std::string experiment;  // its [experiment] name
  ReportSettings settings;
  const Domain* domain = nullptr;
  std::vector<std::pair<std::string, SampleSetMetric*>> metrics;  // [metrics.<name>]
  std::map<std::string, std::string> method_types;                // [methods.<name>] -> its type
};

struct ReportFiles {
  size_t figures = 0;              // figures written
  std::vector<std::string> notes;  // figures left out and why
};

// Writes out/report.html, out/figures/ and out/table1.md / table1.csv for
// `sources` (out is created). A figure that cannot be drawn (no finished
// sample yet, one value only) is left out with a note, never an error;
// unreadable folder files throw InputError naming the file. Paper figures
// come from `data_dir`/svdd_paper/table1.csv (InputError when a source
// names a paper task that file does not hold, or the file is missing).
ReportFiles write_report(const std::vector<ReportSource>& sources, const std::filesystem::path& out,
                         const std::filesystem::path& data_dir);

}  // namespace svdd
