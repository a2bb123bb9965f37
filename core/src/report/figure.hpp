// Private: the figures of a report, drawn once with cairo and written as SVG
// (for papers), PNG (for anything without a browser) and CSV (the numbers
// behind the figure, so a reader can plot them again). No torch here.
//
// Three kinds of figure:
//   Plot          an x-y chart: lines, points with error bars, box plots;
//                 linear or log axes, categorical x ticks, a legend.
//   PictureGrid   pictures of samples (molecules, images) in labelled rows,
//                 each with a caption (its score).
//   SequenceLogo  one logo per row: letter heights by information content
//                 (bits) at every position of fixed-length sequences.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <variant>
#include <vector>

#include "svdd/domain.hpp"  // Picture

namespace svdd::report {

enum class Scale { linear, log };

// One named series of a Plot. x and y have the same length; y_low/y_high are
// empty or of that length too (an error bar per point, e.g. the bootstrap
// interval of a median). Non-finite points are skipped when drawn (and kept
// in the CSV as empty cells).
struct Series {
  enum class Style { line, points, line_points };
  std::string name;  // legend entry ("" : not in the legend)
  Style style = Style::line_points;
  std::vector<double> x, y;
  std::vector<double> y_low, y_high;
  std::vector<std::string> labels;  // empty, or a short text drawn beside each point
  bool dashed = false;
};

// One box of a box plot at category index `position`: whiskers, quartiles,
// the median and its interval (drawn as a notch band), outliers as dots.
struct Box {
  std::string label;
  double whisker_low = 0, q25 = 0, median = 0, q75 = 0, whisker_high = 0;
  double median_low = 0, median_high = 0;
  std::vector<double> outliers;
};

struct Plot {
  std::string title, x_label, y_label;
  Scale x_scale = Scale::linear, y_scale = Scale::linear;
  // When not empty, x values are category indices 0..n-1 drawn with these
  // tick labels (rotated when long); boxes always use categories.
  std::vector<std::string> x_categories;
  std::vector<Series> series;
  std::vector<Box> boxes;  // box i sits at category i
};

struct PictureCell {
  Picture picture;
  std::string caption;  // e.g. "0.912"
};

struct PictureGrid {
  std::string title;
  std::vector<std::string> row_labels;          // one per row (run labels)
  std::vector<std::vector<PictureCell>> rows;   // rows may differ in length
};

// frequencies[row][position][letter], each position summing to 1 (or 0 when
// the row has no sequence there); letters[i] is drawn for letter i.
struct SequenceLogo {
  std::string title;
  std::string letters;  // e.g. "ACGT", "ACGU"
  std::vector<std::string> row_labels;
  std::vector<std::vector<std::vector<double>>> frequencies;
};

using Figure = std::variant<Plot, PictureGrid, SequenceLogo>;

// The same drawing rendered twice: SVG text and PNG file bytes.
struct Rendered {
  std::string svg, png;
  int64_t width = 0, height = 0;  // pixels of the PNG (= SVG points)
};

// Renders `figure`; its size follows its content (a grid grows with its
// pictures, a plot is 720 x 480). Throws InputError for a figure that cannot
// be drawn (series with x and y of different lengths, no data at all,
// pictures of different channel counts are fine).
Rendered render(const Figure& figure);

// The numbers behind `figure` as CSV text with a header:
//   Plot:         series,x,y,y_low,y_high,label   then for boxes
//                 box,label,whisker_low,q25,median,q75,whisker_high,median_low,median_high
//                 (a Plot with both writes the series table, a blank line,
//                 then the box table)
//   PictureGrid:  row,column,caption
//   SequenceLogo: row,position,letter,frequency
std::string figure_csv(const Figure& figure);

// The number of series a figure shows: a Plot's series plus one for its
// boxes (when it has any), a grid's or logo's rows.
size_t series_count(const Figure& figure);

// Writes dir/stem.svg, dir/stem.png and dir/stem.csv (each atomically);
// throws RuntimeFailure when a file cannot be written.
void write_figure(const std::filesystem::path& dir, const std::string& stem,
                  const Figure& figure);

}  // namespace svdd::report
