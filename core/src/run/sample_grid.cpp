// The grid of samples a run folder shows (see sample_grid.hpp).
#include "run/sample_grid.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>  // fmt::join

#include <algorithm>
#include <cstddef>

#include "io/file_writing.hpp"
#include "svdd/error.hpp"
#include "svdd/util/log.hpp"

namespace svdd {
namespace {

// Copies `cell` into `grid` with its top-left corner at (top, left),
// repeating a grey cell's value in every channel of an RGB grid.
void paste(PngImage& grid, const PngImage& cell, int64_t top, int64_t left) {
  for (int64_t y = 0; y < cell.height; ++y) {
    for (int64_t x = 0; x < cell.width; ++x) {
      const uint8_t* from = &cell.pixels[(y * cell.width + x) * cell.channels];
      uint8_t* to = &grid.pixels[((top + y) * grid.width + left + x) * grid.channels];
      for (int64_t c = 0; c < grid.channels; ++c) to[c] = from[cell.channels == 1 ? 0 : c];
    }
  }
}

}  // namespace

std::optional<PngImage> sample_grid(const std::vector<std::vector<std::string>>& decoded_rows,
                                    const std::vector<PictureFn>& draw, int max_columns) {
  if (decoded_rows.empty() || max_columns < 1 || draw.size() != decoded_rows.size()) {
    return std::nullopt;
  }
  size_t columns = static_cast<size_t>(max_columns);
  for (size_t r = 0; r < decoded_rows.size(); ++r) {
    if (decoded_rows[r].empty() || !draw[r]) return std::nullopt;
    columns = std::min(columns, decoded_rows[r].size());
  }

  std::vector<std::vector<PngImage>> cells(decoded_rows.size());
  for (size_t r = 0; r < decoded_rows.size(); ++r) {
    for (size_t c = 0; c < decoded_rows[r].size(); ++c) {
      std::optional<Picture> cell = draw[r](decoded_rows[r][c]);
      if (!cell) return std::nullopt;
      if (c < columns) cells[r].push_back(std::move(*cell));
    }
  }
  const PngImage& first = cells.front().front();
  bool any_rgb = false;
  for (const auto& row : cells) {
    for (const auto& cell : row) {
      if (cell.height != first.height || cell.width != first.width) return std::nullopt;
      any_rgb = any_rgb || cell.channels == 3;
    }
  }

  const int64_t step_y = first.height + kSampleGridGutter;
  const int64_t step_x = first.width + kSampleGridGutter;
  PngImage grid;
  grid.height = int64_t(cells.size()) * step_y - kSampleGridGutter;
  grid.width = int64_t(columns) * step_x - kSampleGridGutter;
  grid.channels = any_rgb ? 3 : 1;
  grid.pixels.assign(static_cast<size_t>(grid.height * grid.width * grid.channels),
                     kSampleGridGutterGrey);
  for (size_t r = 0; r < cells.size(); ++r) {
    for (size_t c = 0; c < columns; ++c)
      paste(grid, cells[r][c], int64_t(r) * step_y, int64_t(c) * step_x);
  }
  return grid;
}

std::string write_samples_grid(const std::filesystem::path& dir,
                               const std::vector<std::string>& labels,
                               const std::vector<std::vector<std::string>>& decoded_rows,
                               const std::vector<PictureFn>& draw) {
  constexpr int kMostColumns = 8;
  const std::filesystem::path file = dir / "samples_grid.png";
  std::optional<PngImage> grid;
  try {
    grid = sample_grid(decoded_rows, draw, kMostColumns);
  } catch (const InputError& e) {
    logger("run")->warn("no sample grid: {}", e.what());
  }
  if (!grid) {
    std::filesystem::remove(file);
    return "";
  }
  write_atomically(file, [&](const std::filesystem::path& tmp) { write_png(tmp, *grid); });
  return fmt::format(
      "## Samples\n\n![samples](samples_grid.png)\n\nRows, top to bottom: {}. Column j is sample "
      "j of each run.\n\n",
      fmt::join(labels, ", "));
}

}  // namespace svdd
