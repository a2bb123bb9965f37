// Private: the picture of an experiment's samples, one row per run and one
// column per sample, each cell drawn by the run's domain (Domain::picture)
// from the decoded samples in samples.csv.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "svdd/domain.hpp"
#include "svdd/export.hpp"
#include "svdd/io/png_image.hpp"

namespace svdd {

// A grid of the first K samples of each row, K = min(max_columns, fewest
// samples in a row), cells separated by a 2-pixel mid-grey gutter: the
// result is rows * (h + 2) - 2 pixels high and K * (w + 2) - 2 wide. The
// grid is grey when every cell is grey, else RGB (grey cells repeated in
// each channel).
//
// `draw[i]` draws the samples of row i (the domain of that run). Returns
// nullopt when the samples are not pictures of one size: no rows, a row
// without samples or without a way to draw them, a sample its domain does
// not draw (every sample of a row is drawn, shown or not), or cells of
// different sizes. A drawing that fails throws InputError. Exported only
// for the unit tests.
SVDD_API std::optional<PngImage> sample_grid(
    const std::vector<std::vector<std::string>>& decoded_rows, const std::vector<PictureFn>& draw,
    int max_columns);

// Writes dir/samples_grid.png, the grid of up to 8 samples per run, when
// the runs' samples are pictures, and returns summary.md's section showing
// it; `labels[i]` names the run of `decoded_rows[i]`, drawn by `draw[i]`.
// Otherwise returns "" and removes a grid left by an earlier summary. A
// sample that cannot be drawn is logged as a warning and costs only the
// grid. Exported only for the unit tests.
SVDD_API std::string write_samples_grid(const std::filesystem::path& dir,
                                        const std::vector<std::string>& labels,
                                        const std::vector<std::vector<std::string>>& decoded_rows,
                                        const std::vector<PictureFn>& draw);

// The width of the gutter between cells, in pixels, and its grey value.
inline constexpr int kSampleGridGutter = 2;
inline constexpr uint8_t kSampleGridGutterGrey = 128;

}  // namespace svdd
