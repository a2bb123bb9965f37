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
#include "svdd/export.hpp"  // exported for the tests, which call them directly

namespace svdd::report {

enum class Scale { linear, log };

// One named series of a Plot. x and y have the same length; y_low/y_high are
// empty or of that length too (an error bar per point, e.g. the bootstrap
// interval of a median). Non-finite points, and points not positive on a log
// axis, are skipped when drawn (a line breaks there) and kept in the CSV
// (non-finite values as empty cells). A line joins the points in their order.
struct Series {
  enum class Style { line, points, line_points };
  std::string name;  // legend entry ("" : not in the legend)
  Style style = Style::line_points;
  std::vector<double> x, y;
  std::vector<double> y_low, y_high;
  std::vector<std::string> labels;  // empty, or a short text drawn beside each point
  bool dashed = false;
  // Drawn against the plot's second y axis, on the right (Plot::y2_label,
  // y2_scale), e.g. the compute a reward curve costs.
  bool right_axis = false;
  // The colour's index in the cycle; -1 takes the series' own index (so a
  // right-axis twin can share its curve's colour).
  int colour = -1;
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
  // tick labels (rotated when long); boxes always use categories (labelled
  // with Box::label past the end of x_categories). A categorical x axis is
  // linear whatever x_scale says. Series take the Tableau 10 colours in
  // order, the boxes the colour after the last series'.
  std::vector<std::string> x_categories;
  std::vector<Series> series;
  std::vector<Box> boxes;  // box i sits at category i
  // The second y axis, on the right, for series with right_axis (shown only
  // when one has a point to draw; it has no grid lines).
  std::string y2_label;
  Scale y2_scale = Scale::linear;
};

struct PictureCell {
  Picture picture;
  std::string caption;  // e.g. "0.912"
};

struct PictureGrid {
  std::string title;
  std::vector<std::string> row_labels;         // one per row (run labels)
  std::vector<std::vector<PictureCell>> rows;  // rows may differ in length
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

// The same drawing rendered twice: SVG text and PNG file bytes (8-bit RGB).
struct Rendered {
  std::string svg, png;
  int64_t width = 0, height = 0;  // pixels of the PNG (= the SVG's width="720px")
};

// Renders `figure`; its size follows its content (a plot is 720 x 480, a
// grid grows with its pictures, a logo with its length and rows). Throws
// InputError for a figure that cannot be drawn: series with x and y (or
// y_low, y_high, labels) of different lengths, a plot without a point to
// draw and without boxes, a grid without pictures or with a picture whose
// pixels do not match its shape, a logo without positions or with
// frequencies that do not match its letters or are negative. Pictures of
// different channel counts and sizes are fine.
SVDD_API Rendered render(const Figure& figure);

// The numbers behind `figure` as CSV text with a header:
//   Plot:         series,x,y,y_low,y_high,label   (y of a right-axis series
//                 in its own units: its name should say so) then for boxes
//                 box,label,whisker_low,q25,median,q75,whisker_high,median_low,median_high
//                 (a Plot with both writes the series table, a blank line,
//                 then the box table)
//   PictureGrid:  row,column,caption
//   SequenceLogo: row,position,letter,frequency
// Numbers as %.9g, non-finite ones as empty cells; `series` and `row` are
// names (series name, row label); x and box are as plotted (category
// indices from 0), column and position count from 1 as the figure shows
// them. Throws InputError for a Plot whose series lengths differ.
SVDD_API std::string figure_csv(const Figure& figure);

// The number of series a figure shows: a Plot's series plus one for its
// boxes (when it has any), a grid's or logo's rows.
SVDD_API size_t series_count(const Figure& figure);

// Writes dir/stem.svg, dir/stem.png and dir/stem.csv (each atomically) in
// the existing folder `dir`; throws InputError as render does (before any
// file is written) and RuntimeFailure when a file cannot be written.
SVDD_API void write_figure(const std::filesystem::path& dir, const std::string& stem,
                           const Figure& figure);

}  // namespace svdd::report
