// `svdd report DIR... [--out DIR]`: a report a researcher can put in a
// paper, made from finished (or interrupted) run folders without rerunning
// anything: report.html (self-contained, offline), every figure as SVG, PNG
// and CSV under figures/, and table1.md / table1.csv with one block per
// folder (and the seed paper's figures where a folder's [report]
// paper_table names its task). `svdd run` writes the same into every run
// folder when it finishes.
#pragma once

#include <filesystem>
#include <vector>

#include "svdd/export.hpp"
#include "svdd/registry.hpp"

namespace svdd {

// Reports on `dirs` into `out` ("" : the folder itself when there is one;
// required for several). Each folder's config.toml rebuilds its model's
// domain (to draw samples) and its metrics (their spectra). Throws
// InputError naming the folder for one that is not a run folder.
SVDD_API void report_folders(const std::vector<std::filesystem::path>& dirs,
                             std::filesystem::path out, const Registry& registry);

}  // namespace svdd
