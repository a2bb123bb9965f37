// The figures of a report (see figure.hpp). Each kind first lays itself out
// (sizes, ranges, ticks, elided texts) on a scratch cairo context, then one
// drawing function paints it; that function runs twice, on an SVG surface and
// on an image surface for the PNG, so both files show the same picture.
#include "report/figure.hpp"

#include <cairo-svg.h>
#include <cairo.h>
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <numbers>
#include <numeric>
#include <optional>

#include "io/file_writing.hpp"
#include "svdd/error.hpp"
#include "svdd/io/csv.hpp"
#include "svdd/io/png_image.hpp"

namespace svdd::report {
namespace {

// ---------------------------------------------------------------------------
// Surfaces, colours and text

struct SurfaceDeleter {
  void operator()(cairo_surface_t* surface) const { cairo_surface_destroy(surface); }
};
struct ContextDeleter {
  void operator()(cairo_t* cr) const { cairo_destroy(cr); }
};
using Surface = std::unique_ptr<cairo_surface_t, SurfaceDeleter>;
using Context = std::unique_ptr<cairo_t, ContextDeleter>;

constexpr const char* kFont = "DejaVu Sans";
constexpr double kTitleSize = 15, kLabelSize = 12.5, kTickSize = 10.5, kLegendSize = 11;
constexpr double kTickLength = 5;
// cairo's image surfaces are at most this many pixels on a side.
constexpr int64_t kLargestSide = 32767;

struct Rgb {
  double r = 0, g = 0, b = 0;
};
constexpr Rgb hex(uint32_t v) {
  return {((v >> 16) & 255) / 255.0, ((v >> 8) & 255) / 255.0, (v & 255) / 255.0};
}
// Tableau 10 (matplotlib's "tab10"): ten colours a reader tells apart, most
// of them also with a colour vision deficiency.
constexpr std::array<uint32_t, 10> kCycle = {0x1f77b4, 0xff7f0e, 0x2ca02c, 0xd62728, 0x9467bd,
                                             0x8c564b, 0xe377c2, 0x7f7f7f, 0xbcbd22, 0x17becf};
constexpr Rgb kInk = hex(0x1e1e1e), kSoftInk = hex(0x555555), kFrame = hex(0x404040),
              kGrid = hex(0xe6e6e6), kPictureBorder = hex(0xd0d0d0);

Rgb cycle_colour(size_t i) { return hex(kCycle[i % kCycle.size()]); }

void set_colour(cairo_t* cr, Rgb c, double alpha = 1) {
  cairo_set_source_rgba(cr, c.r, c.g, c.b, alpha);
}

std::string named(const std::string& title) {
  return title.empty() ? std::string("untitled figure") : fmt::format("figure '{}'", title);
}

// `text` as cairo accepts it: cairo refuses a string with an invalid UTF-8
// sequence (and stops drawing), so each bad byte becomes '?'; control
// characters (a line break in a run label) become spaces.
std::string valid_utf8(const std::string& text) {
  std::string out;
  for (size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    const size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    bool ok = n > 0 && i + n <= text.size();
    uint32_t code = n == 1 ? c : n == 2 ? (c & 0x1f) : n == 3 ? (c & 0x0f) : (c & 0x07);
    for (size_t k = 1; ok && k < n; ++k) {
      const auto next = static_cast<unsigned char>(text[i + k]);
      ok = (next & 0xc0) == 0x80;
      code = (code << 6) | (next & 0x3f);
    }
    // As cairo checks: no overlong forms, surrogates or non-characters.
    static constexpr uint32_t kSmallest[] = {0, 0, 0x80, 0x800, 0x10000};
    ok = ok && code >= kSmallest[n] && code < 0x110000 && (code & 0xfffff800) != 0xd800 &&
         (code < 0xfdd0 || code > 0xfdef) && (code & 0xfffe) != 0xfffe;
    if (!ok) {
      out += '?';
      ++i;
      continue;
    }
    if (n == 1 && (c < 0x20 || c == 0x7f)) {
      out += ' ';
    } else {
      out.append(text, i, n);
    }
    i += n;
  }
  return out;
}

void set_font(cairo_t* cr, double size, bool bold = false) {
  cairo_select_font_face(cr, kFont, CAIRO_FONT_SLANT_NORMAL,
                         bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size(cr, size);
}

double font_size(cairo_t* cr) {
  cairo_matrix_t matrix;
  cairo_get_font_matrix(cr, &matrix);
  return matrix.yy;
}

double text_width(cairo_t* cr, const std::string& text) {
  cairo_text_extents_t extents;
  cairo_text_extents(cr, valid_utf8(text).c_str(), &extents);
  return extents.x_advance;
}

// `text` cut (with an ellipsis) to at most `most` pixels wide in the current font.
std::string elided(cairo_t* cr, const std::string& text, double most) {
  std::string cut = valid_utf8(text);
  if (text_width(cr, cut) <= most) return cut;
  const std::string ellipsis = "\xe2\x80\xa6";
  while (!cut.empty()) {
    // Drop one whole code point: its continuation bytes, then its lead byte.
    while (!cut.empty() && (static_cast<unsigned char>(cut.back()) & 0xc0) == 0x80) cut.pop_back();
    if (!cut.empty()) cut.pop_back();
    if (text_width(cr, cut + ellipsis) <= most) return cut + ellipsis;
  }
  return "";
}

enum class Anchor { baseline, middle };

// Draws `text` in the current font and colour; `align` places (x, y) at the
// start (0), centre (0.5) or end (1) of the text; y is its baseline, or with
// Anchor::middle the middle of its capital letters.
void text_at(cairo_t* cr, double x, double y, const std::string& text, double align,
             Anchor anchor = Anchor::baseline) {
  const std::string shown = valid_utf8(text);
  if (shown.empty()) return;
  if (anchor == Anchor::middle) y += 0.36 * font_size(cr);
  cairo_move_to(cr, x - align * text_width(cr, shown), y);
  cairo_show_text(cr, shown.c_str());
}

// A context whose surface is never shown, to measure texts for a layout.
struct Scratch {
  Surface surface{cairo_image_surface_create(CAIRO_FORMAT_ARGB32, 1, 1)};
  Context context{cairo_create(surface.get())};
};

// The same text metrics on every surface: hinted metrics would round glyph
// advances to the PNG's pixels but not the SVG's, and a layout measured on
// one would not fit the other.
void prepare(cairo_t* cr) {
  cairo_font_options_t* options = cairo_font_options_create();
  cairo_font_options_set_hint_metrics(options, CAIRO_HINT_METRICS_OFF);
  cairo_font_options_set_hint_style(options, CAIRO_HINT_STYLE_NONE);
  cairo_set_font_options(cr, options);
  cairo_font_options_destroy(options);
}

// ---------------------------------------------------------------------------
// Drawing a figure twice

struct Canvas {
  int64_t width = 0, height = 0;
  std::function<void(cairo_t*)> draw;
};

void check_cairo(cairo_status_t status, const std::string& title, const char* what) {
  if (status != CAIRO_STATUS_SUCCESS) {
    throw RuntimeFailure(fmt::format("cannot draw the {} of {}: {}", what, named(title),
                                     cairo_status_to_string(status)));
  }
}

cairo_status_t append_to_string(void* closure, const unsigned char* data, unsigned int length) {
  static_cast<std::string*>(closure)->append(reinterpret_cast<const char*>(data), length);
  return CAIRO_STATUS_SUCCESS;
}

void paint(cairo_surface_t* surface, const Canvas& canvas, const std::string& title,
           const char* what) {
  check_cairo(cairo_surface_status(surface), title, what);
  Context cr(cairo_create(surface));
  prepare(cr.get());
  cairo_set_source_rgb(cr.get(), 1, 1, 1);
  cairo_paint(cr.get());
  canvas.draw(cr.get());
  check_cairo(cairo_status(cr.get()), title, what);
}

// The PNG goes through encode_png rather than cairo's own PNG writer: RGB
// without the alpha channel cairo would add (the background is opaque), and
// the same libpng settings as every other picture the project writes.
Picture picture_of(cairo_surface_t* image) {
  cairo_surface_flush(image);
  Picture picture;
  picture.width = cairo_image_surface_get_width(image);
  picture.height = cairo_image_surface_get_height(image);
  picture.channels = 3;
  picture.pixels.resize(static_cast<size_t>(picture.width * picture.height * 3));
  const unsigned char* data = cairo_image_surface_get_data(image);
  const int stride = cairo_image_surface_get_stride(image);
  uint8_t* to = picture.pixels.data();
  for (int64_t y = 0; y < picture.height; ++y) {
    const auto* row = reinterpret_cast<const uint32_t*>(data + y * stride);
    // Opaque pixels: premultiplied ARGB32 equals plain RGB.
    for (int64_t x = 0; x < picture.width; ++x) {
      *to++ = static_cast<uint8_t>(row[x] >> 16);
      *to++ = static_cast<uint8_t>(row[x] >> 8);
      *to++ = static_cast<uint8_t>(row[x]);
    }
  }
  return picture;
}

// cairo names the surfaces and images of an SVG by counters shared by the
// whole process ("surface105"), so the same figure would give different SVG
// text each time it is drawn. This renumbers those ids from 1 in each
// document (and every reference to them: href="#id", url(#id)), so that a
// figure's file is the same in every run.
std::string stable_ids(const std::string& svg) {
  auto is_digit = [](char c) { return c >= '0' && c <= '9'; };
  auto is_name = [&](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c);
  };
  auto name_at = [&](size_t at) {
    size_t end = at;
    while (end < svg.size() && is_name(svg[end])) ++end;
    return svg.substr(at, end - at);
  };
  std::map<std::string, std::string> renamed;
  std::map<std::string, int> counts;
  for (size_t at = svg.find("id=\""); at != std::string::npos; at = svg.find("id=\"", at + 1)) {
    const std::string id = name_at(at + 4);
    size_t digits = id.size();
    while (digits > 0 && is_digit(id[digits - 1])) --digits;
    const std::string prefix = id.substr(0, digits);
    if (digits == id.size() || (prefix != "surface" && prefix != "image")) continue;
    if (!renamed.count(id)) renamed[id] = prefix + std::to_string(++counts[prefix]);
  }
  if (renamed.empty()) return svg;
  std::string out;
  out.reserve(svg.size());
  for (size_t at = 0; at < svg.size();) {
    size_t skip = 0;
    for (const char* lead : {"id=\"", "href=\"#", "url(#"}) {
      if (svg.compare(at, std::strlen(lead), lead) == 0) skip = std::strlen(lead);
    }
    if (skip == 0) {
      out += svg[at++];
      continue;
    }
    out.append(svg, at, skip);
    at += skip;
    const std::string id = name_at(at);
    const auto found = renamed.find(id);
    out += found == renamed.end() ? id : found->second;
    at += id.size();
  }
  return out;
}

Rendered draw_twice(const Canvas& canvas, const std::string& title) {
  if (canvas.width < 1 || canvas.height < 1 || canvas.width > kLargestSide ||
      canvas.height > kLargestSide) {
    throw InputError(fmt::format("{}: {} x {} pixels is too large to draw (at most {} a side)",
                                 named(title), canvas.width, canvas.height, kLargestSide));
  }
  Rendered out;
  out.width = canvas.width;
  out.height = canvas.height;
  {
    Surface svg(cairo_svg_surface_create_for_stream(append_to_string, &out.svg,
                                                    double(canvas.width), double(canvas.height)));
    // "720px" rather than cairo's default "720pt": a browser then shows the
    // SVG at the PNG's size.
    cairo_svg_surface_set_document_unit(svg.get(), CAIRO_SVG_UNIT_PX);
    paint(svg.get(), canvas, title, "SVG");
    cairo_surface_finish(svg.get());
    check_cairo(cairo_surface_status(svg.get()), title, "SVG");
  }
  out.svg = stable_ids(out.svg);
  Surface image(
      cairo_image_surface_create(CAIRO_FORMAT_ARGB32, int(canvas.width), int(canvas.height)));
  paint(image.get(), canvas, title, "PNG");
  out.png = encode_png(picture_of(image.get()));
  return out;
}

// ---------------------------------------------------------------------------
// Axes and ticks

// A tick's label is `text`, or with `power` "10" raised to it.
struct Tick {
  double value = 0;
  std::string text, power;
};

struct Axis {
  Scale scale = Scale::linear;
  double lo = 0, hi = 1;    // the range shown
  double from = 0, to = 1;  // the pixels of lo and hi
  std::vector<Tick> ticks;
  std::vector<double> minor;  // unlabelled ticks

  bool shows(double v) const { return std::isfinite(v) && (scale == Scale::linear || v > 0); }
  double pixel(double v) const {
    const double t = scale == Scale::log
                         ? (std::log10(v) - std::log10(lo)) / (std::log10(hi) - std::log10(lo))
                         : (v - lo) / (hi - lo);
    return from + t * (to - from);
  }
};

struct Extent {
  double lo = std::numeric_limits<double>::infinity();
  double hi = -std::numeric_limits<double>::infinity();
  void add(double v) {
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  bool empty() const { return !(lo <= hi); }
};

// The range an axis shows for data spanning `extent`: 5% wider on each side
// (of its logarithms on a log axis); a single value gets a range around it,
// no data a unit range.
void set_range(Axis& axis, Extent extent) {
  if (extent.empty()) extent = axis.scale == Scale::log ? Extent{1, 10} : Extent{0, 1};
  if (axis.scale == Scale::log) {
    double a = std::log10(extent.lo), b = std::log10(extent.hi);
    const double pad = b - a < 1e-9 ? 0.5 : 0.05 * (b - a);
    axis.lo = std::pow(10.0, a - pad);
    axis.hi = std::pow(10.0, b + pad);
    return;
  }
  const double span = extent.hi - extent.lo;
  const double size = std::max({1.0, std::abs(extent.lo), std::abs(extent.hi)});
  const double pad =
      span <= 1e-12 * size ? (extent.lo == 0 ? 1 : 0.1 * std::abs(extent.lo)) : 0.05 * span;
  axis.lo = extent.lo - pad;
  axis.hi = extent.hi + pad;
}

// "%.3g", with a true minus sign and a short exponent ("1.5e3").
std::string compact(double v) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.3g", v);
  std::string text = buffer;
  if (const size_t e = text.find('e'); e != std::string::npos) {
    std::string mantissa = text.substr(0, e), exponent = text.substr(e + 1);
    const bool negative = exponent[0] == '-';
    exponent.erase(0, 1);
    exponent.erase(0, std::min(exponent.find_first_not_of('0'), exponent.size() - 1));
    text = mantissa + "e" + (negative ? "-" : "") + exponent;
  }
  std::string out;
  for (char c : text) out += c == '-' ? std::string("\xe2\x88\x92") : std::string(1, c);
  return out;
}

// The 1-2-5 step nearest to `raw`.
double nice_step(double raw) {
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  const double f = raw / magnitude;
  return magnitude * (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10);
}

std::vector<Tick> linear_ticks(double lo, double hi, int target) {
  const double step = nice_step((hi - lo) / target);
  std::vector<Tick> ticks;
  for (double k = std::ceil(lo / step - 1e-9); k * step <= hi + step * 1e-9 && ticks.size() < 50;
       k += 1) {
    double v = k * step;
    if (std::abs(v) < step * 1e-9) v = 0;  // not "-2.78e-17"
    ticks.push_back({v, compact(v), ""});
  }
  return ticks;
}

// Decades labelled 10^k when the range holds at least two (every n-th one
// when it holds many), with unlabelled 2..9 ticks between; else 1-2-5 ticks
// of each decade; else, in a range under a factor of 2.5, linear ticks.
void log_ticks(Axis& axis) {
  const double a = std::log10(axis.lo), b = std::log10(axis.hi);
  const int first = int(std::ceil(a - 1e-9)), last = int(std::floor(b + 1e-9));
  auto inside = [&](double v) { return v >= axis.lo * (1 - 1e-9) && v <= axis.hi * (1 + 1e-9); };
  if (last > first) {
    const int every = std::max(1, int(std::ceil((last - first + 1) / 8.0)));
    for (int k = first; k <= last; ++k) {
      if (((k % every) + every) % every != 0) continue;
      axis.ticks.push_back({std::pow(10.0, k), "10", compact(k)});
    }
    if (every > 1) return;
    for (int k = first - 1; k <= last; ++k) {
      for (int m = 2; m <= 9; ++m) {
        if (const double v = m * std::pow(10.0, k); inside(v)) axis.minor.push_back(v);
      }
    }
    return;
  }
  for (int k = int(std::floor(a)); k <= int(std::ceil(b)); ++k) {
    for (int m : {1, 2, 5}) {
      if (const double v = m * std::pow(10.0, k); inside(v))
        axis.ticks.push_back({v, compact(v), ""});
    }
  }
  if (axis.ticks.size() < 2) axis.ticks = linear_ticks(axis.lo, axis.hi, 5);
}

void set_ticks(Axis& axis) {
  if (axis.scale == Scale::log) {
    log_ticks(axis);
  } else {
    axis.ticks = linear_ticks(axis.lo, axis.hi, 6);
  }
}

double tick_label_width(cairo_t* cr, const Tick& tick) {
  double width = text_width(cr, tick.text);
  if (!tick.power.empty()) {
    const double size = font_size(cr);
    cairo_set_font_size(cr, 0.72 * size);
    width += text_width(cr, tick.power);
    cairo_set_font_size(cr, size);
  }
  return width;
}

void draw_tick_label(cairo_t* cr, double x, double y, const Tick& tick, double align,
                     Anchor anchor) {
  if (tick.power.empty()) return text_at(cr, x, y, tick.text, align, anchor);
  const double size = font_size(cr);
  if (anchor == Anchor::middle) y += 0.36 * size;
  const double start = x - align * tick_label_width(cr, tick);
  const double base = text_width(cr, tick.text);
  text_at(cr, start, y, tick.text, 0);
  cairo_set_font_size(cr, 0.72 * size);
  text_at(cr, start + base, y - 0.42 * size, tick.power, 0);
  cairo_set_font_size(cr, size);
}

void line(cairo_t* cr, double x0, double y0, double x1, double y1) {
  cairo_move_to(cr, x0, y0);
  cairo_line_to(cr, x1, y1);
}

// ---------------------------------------------------------------------------
// Plot

constexpr int64_t kPlotWidth = 720, kPlotHeight = 480;
constexpr double kRotation = 35 * std::numbers::pi / 180;  // of long category labels
constexpr double kMarkerRadius = 3.6;

void check_plot(const Plot& plot) {
  for (const Series& s : plot.series) {
    auto check = [&](size_t n, const char* what) {
      if (n != s.x.size()) {
        throw InputError(fmt::format("{}: series '{}' has {} x values but {} {}", named(plot.title),
                                     s.name, s.x.size(), n, what));
      }
    };
    check(s.y.size(), "y values");
    if (!s.y_low.empty()) check(s.y_low.size(), "y_low values");
    if (!s.y_high.empty()) check(s.y_high.size(), "y_high values");
    if (!s.labels.empty()) check(s.labels.size(), "labels");
  }
}

struct PlotLayout {
  Axis x, y;  // x.from = left, x.to = right, y.from = bottom, y.to = top
  Axis y2;    // the right axis, for right_axis series (when has_y2)
  bool has_y2 = false;
  double y2_tick_width = 0;  // the widest of y2's tick labels
  double left = 0, top = 0, right = 0, bottom = 0;
  double legend_left = 0;  // where the legend's lines start
  bool categorical = false, rotated = false;
  std::string title;
  std::vector<std::pair<size_t, std::string>> legend;  // series index, shown name
  std::string legend_more;                             // "+3 more"
};

const Axis& y_axis(const PlotLayout& layout, const Series& s) {
  return s.right_axis ? layout.y2 : layout.y;
}

bool drawable(const PlotLayout& layout, const Series& s, double x, double y) {
  return layout.x.shows(x) && y_axis(layout, s).shows(y);
}

Rgb series_colour(const Plot& plot, size_t i) {
  const int c = plot.series[i].colour;
  return cycle_colour(c >= 0 ? size_t(c) : i);
}

std::string category_label(const Plot& plot, size_t i) {
  if (i < plot.x_categories.size()) return plot.x_categories[i];
  return i < plot.boxes.size() ? plot.boxes[i].label : "";
}

// The data ranges; throws when nothing at all can be drawn.
void set_plot_ranges(const Plot& plot, PlotLayout& layout) {
  layout.categorical = !plot.x_categories.empty() || !plot.boxes.empty();
  // A categorical axis is linear whatever x_scale says: its values are indices.
  layout.x.scale = layout.categorical ? Scale::linear : plot.x_scale;
  layout.y.scale = plot.y_scale;
  layout.y2.scale = plot.y2_scale;
  Extent x, y, y2;
  size_t points = 0;
  for (const Series& s : plot.series) {
    const Axis& axis = y_axis(layout, s);
    Extent& extent = s.right_axis ? y2 : y;
    for (size_t i = 0; i < s.x.size(); ++i) {
      if (!drawable(layout, s, s.x[i], s.y[i])) continue;
      ++points;
      x.add(s.x[i]);
      extent.add(s.y[i]);
      if (!s.y_low.empty() && axis.shows(s.y_low[i])) extent.add(s.y_low[i]);
      if (!s.y_high.empty() && axis.shows(s.y_high[i])) extent.add(s.y_high[i]);
    }
  }
  layout.has_y2 = !y2.empty();
  if (points == 0 && plot.boxes.empty()) {
    throw InputError(fmt::format(
        "{}: no point to draw (every x or y is missing, not finite, or not positive on a log axis)",
        named(plot.title)));
  }
  for (const Box& box : plot.boxes) {
    for (double v : {box.whisker_low, box.q25, box.median, box.q75, box.whisker_high,
                     box.median_low, box.median_high}) {
      if (layout.y.shows(v)) y.add(v);
    }
    for (double v : box.outliers) {
      if (layout.y.shows(v)) y.add(v);
    }
  }
  if (layout.categorical) {
    const size_t n = std::max(plot.x_categories.size(), plot.boxes.size());
    layout.x.lo = std::min(-0.5, x.empty() ? 0 : x.lo - 0.5);
    layout.x.hi = std::max(double(n) - 0.5, x.empty() ? 0 : x.hi + 0.5);
  } else {
    set_range(layout.x, x);
    set_ticks(layout.x);
  }
  set_range(layout.y, y);
  set_ticks(layout.y);
  if (layout.has_y2) {
    set_range(layout.y2, y2);
    set_ticks(layout.y2);
  }
}

PlotLayout layout_plot(const Plot& plot, cairo_t* cr) {
  check_plot(plot);
  PlotLayout layout;
  set_plot_ranges(plot, layout);
  const double width = kPlotWidth, height = kPlotHeight;

  set_font(cr, kTitleSize, true);
  layout.title = elided(cr, plot.title, width - 24);
  layout.top = plot.title.empty() ? 16 : 42;

  set_font(cr, kTickSize);
  double y_ticks = 0;
  for (const Tick& tick : layout.y.ticks) y_ticks = std::max(y_ticks, tick_label_width(cr, tick));
  layout.left =
      std::round(12 + (plot.y_label.empty() ? 0 : kLabelSize + 8) + y_ticks + 4 + kTickLength + 2);

  // The legend sits outside the plot area, on its right, so it hides no data.
  set_font(cr, kLegendSize);
  double names = 0;
  for (size_t i = 0; i < plot.series.size(); ++i) {
    if (plot.series[i].name.empty()) continue;
    layout.legend.emplace_back(i, elided(cr, plot.series[i].name, 170));
    names = std::max(names, text_width(cr, layout.legend.back().second));
  }
  layout.right = std::round(width - (layout.legend.empty() ? 24 : 18 + 30 + names + 12));
  layout.legend_left = layout.right + 18;
  if (layout.has_y2) {
    // The right axis's ticks and label sit between the plot and the legend.
    set_font(cr, kTickSize);
    for (const Tick& tick : layout.y2.ticks) {
      layout.y2_tick_width = std::max(layout.y2_tick_width, tick_label_width(cr, tick));
    }
    layout.right -= std::round(kTickLength + 4 + layout.y2_tick_width +
                               (plot.y2_label.empty() ? 0 : kLabelSize + 10));
  }

  // Category labels too long for their slot are turned, and the bottom
  // margin grows to hold them.
  set_font(cr, kTickSize);
  double tick_block = kTickSize;
  if (layout.categorical) {
    const double slot = (layout.right - layout.left) / (layout.x.hi - layout.x.lo);
    double widest = 0;
    const size_t n = std::max(plot.x_categories.size(), plot.boxes.size());
    for (size_t i = 0; i < n; ++i) {
      Tick tick{double(i), elided(cr, category_label(plot, i), 150), ""};
      widest = std::max(widest, text_width(cr, tick.text));
      layout.x.ticks.push_back(std::move(tick));
    }
    layout.rotated = widest > slot - 6;
    if (layout.rotated) {
      tick_block = widest * std::sin(kRotation) + kTickSize * std::cos(kRotation);
    }
  } else if (layout.x.scale == Scale::log) {
    tick_block = 1.3 * kTickSize;  // room for the exponents
  }
  layout.bottom = std::round(height - (10 + (plot.x_label.empty() ? 0 : kLabelSize + 8) +
                                       tick_block + 4 + kTickLength + 2));

  layout.x.from = layout.left;
  layout.x.to = layout.right;
  layout.y.from = layout.y2.from = layout.bottom;
  layout.y.to = layout.y2.to = layout.top;

  const size_t fits = std::max<size_t>(1, size_t((layout.bottom - layout.top - 8) / 18));
  if (layout.legend.size() > fits) {
    layout.legend_more = fmt::format("+{} more", layout.legend.size() - fits + 1);
    layout.legend.resize(fits - 1);
  }
  return layout;
}

// Marker shapes cycle with the colours, so series stay apart in grey print.
void marker_path(cairo_t* cr, size_t series, double x, double y, double r) {
  switch (series % 5) {
    case 0:
      cairo_new_sub_path(cr);
      cairo_arc(cr, x, y, r, 0, 2 * std::numbers::pi);
      break;
    case 1:
      cairo_rectangle(cr, x - 0.88 * r, y - 0.88 * r, 1.76 * r, 1.76 * r);
      break;
    case 2:
      cairo_move_to(cr, x, y - 1.2 * r);
      cairo_line_to(cr, x + 1.1 * r, y + 0.8 * r);
      cairo_line_to(cr, x - 1.1 * r, y + 0.8 * r);
      cairo_close_path(cr);
      break;
    case 3:
      cairo_move_to(cr, x, y - 1.25 * r);
      cairo_line_to(cr, x + 1.1 * r, y);
      cairo_line_to(cr, x, y + 1.25 * r);
      cairo_line_to(cr, x - 1.1 * r, y);
      cairo_close_path(cr);
      break;
    default:
      cairo_move_to(cr, x, y + 1.2 * r);
      cairo_line_to(cr, x + 1.1 * r, y - 0.8 * r);
      cairo_line_to(cr, x - 1.1 * r, y - 0.8 * r);
      cairo_close_path(cr);
      break;
  }
}

// A filled marker with a thin white rim, so that overlapping ones stay apart.
void draw_marker(cairo_t* cr, size_t series, double x, double y, Rgb colour) {
  marker_path(cr, series, x, y, kMarkerRadius);
  set_colour(cr, colour);
  cairo_fill_preserve(cr);
  cairo_set_source_rgb(cr, 1, 1, 1);
  cairo_set_line_width(cr, 0.8);
  cairo_stroke(cr);
}

void set_series_line(cairo_t* cr, const Series& s, Rgb colour) {
  set_colour(cr, colour);
  cairo_set_line_width(cr, 1.8);
  cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND);
  static const double kDash[] = {6, 3.5};
  cairo_set_dash(cr, kDash, s.dashed ? 2 : 0, 0);
}

// Vertical bars with caps; an end that is missing or not drawable on the
// axis starts the bar at the point itself.
void draw_error_bars(cairo_t* cr, const Series& s, const PlotLayout& layout, Rgb colour) {
  if (s.y_low.empty() && s.y_high.empty()) return;
  set_colour(cr, colour, 0.9);
  cairo_set_line_width(cr, 1.2);
  for (size_t i = 0; i < s.x.size(); ++i) {
    if (!drawable(layout, s, s.x[i], s.y[i])) continue;
    const Axis& y = y_axis(layout, s);
    const double px = layout.x.pixel(s.x[i]), py = y.pixel(s.y[i]);
    for (const auto* end : {&s.y_low, &s.y_high}) {
      if (end->empty() || !y.shows((*end)[i])) continue;
      const double pe = y.pixel((*end)[i]);
      line(cr, px, py, px, pe);
      line(cr, px - 3.5, pe, px + 3.5, pe);
    }
  }
  cairo_stroke(cr);
}

// Joins the points in their order; a point that cannot be drawn breaks the line.
void draw_series_line(cairo_t* cr, const Series& s, const PlotLayout& layout, Rgb colour) {
  bool open = false;
  for (size_t i = 0; i < s.x.size(); ++i) {
    if (!drawable(layout, s, s.x[i], s.y[i])) {
      open = false;
      continue;
    }
    const double px = layout.x.pixel(s.x[i]), py = y_axis(layout, s).pixel(s.y[i]);
    open ? cairo_line_to(cr, px, py) : cairo_move_to(cr, px, py);
    open = true;
  }
  set_series_line(cr, s, colour);
  cairo_stroke(cr);
  cairo_set_dash(cr, nullptr, 0, 0);
}

void draw_point_labels(cairo_t* cr, const Series& s, const PlotLayout& layout) {
  if (s.labels.empty()) return;
  set_font(cr, 9.5);
  set_colour(cr, kSoftInk);
  for (size_t i = 0; i < s.x.size(); ++i) {
    if (s.labels[i].empty() || !drawable(layout, s, s.x[i], s.y[i])) continue;
    const double px = layout.x.pixel(s.x[i]), py = y_axis(layout, s).pixel(s.y[i]);
    const double w = text_width(cr, s.labels[i]);
    // Right of the point, or left of it where the plot area ends.
    const bool left = px + 6 + w > layout.right;
    text_at(cr, left ? px - 6 : px + 6, py - 6, s.labels[i], left ? 1 : 0);
  }
}

// A box at pixel column cx: whiskers with caps, the quartile box, the
// median's interval as a darker band across it, the median, the outliers.
void draw_box(cairo_t* cr, const Box& box, double cx, double half, const Axis& y, Rgb colour) {
  auto at = [&](double v) -> std::optional<double> {
    return y.shows(v) ? std::optional<double>(y.pixel(v)) : std::nullopt;
  };
  cairo_set_line_width(cr, 1.3);
  set_colour(cr, colour);
  for (auto [end, edge] : {std::pair{box.whisker_low, box.q25}, {box.whisker_high, box.q75}}) {
    const auto pe = at(end), pq = at(edge);
    if (!pe) continue;
    if (pq) line(cr, cx, *pe, cx, *pq);
    line(cr, cx - half / 2, *pe, cx + half / 2, *pe);
  }
  cairo_stroke(cr);
  if (const auto a = at(box.q25), b = at(box.q75); a && b) {
    cairo_rectangle(cr, cx - half, std::min(*a, *b), 2 * half, std::abs(*a - *b));
    set_colour(cr, colour, 0.15);
    cairo_fill_preserve(cr);
    set_colour(cr, colour);
    cairo_stroke(cr);
  }
  if (const auto a = at(box.median_low), b = at(box.median_high); a && b) {
    cairo_rectangle(cr, cx - half, std::min(*a, *b), 2 * half, std::abs(*a - *b));
    set_colour(cr, colour, 0.38);
    cairo_fill(cr);
  }
  if (const auto m = at(box.median)) {
    line(cr, cx - half, *m, cx + half, *m);
    set_colour(cr, {colour.r * 0.55, colour.g * 0.55, colour.b * 0.55});
    cairo_set_line_width(cr, 2.4);
    cairo_stroke(cr);
  }
  for (double v : box.outliers) {
    if (const auto p = at(v)) {
      cairo_new_sub_path(cr);
      cairo_arc(cr, cx, *p, 2.2, 0, 2 * std::numbers::pi);
    }
  }
  set_colour(cr, colour, 0.8);
  cairo_fill(cr);
}

void draw_grid(cairo_t* cr, const PlotLayout& layout) {
  set_colour(cr, kGrid);
  cairo_set_line_width(cr, 1);
  for (const Tick& tick : layout.y.ticks) {
    const double py = std::round(layout.y.pixel(tick.value)) + 0.5;
    line(cr, layout.left, py, layout.right, py);
  }
  // Categories need no vertical lines: their ticks and boxes say where they are.
  if (!layout.categorical) {
    for (const Tick& tick : layout.x.ticks) {
      const double px = std::round(layout.x.pixel(tick.value)) + 0.5;
      line(cr, px, layout.top, px, layout.bottom);
    }
  }
  cairo_stroke(cr);
}

void draw_axes(cairo_t* cr, const Plot& plot, const PlotLayout& layout) {
  set_colour(cr, kFrame);
  cairo_set_line_width(cr, 1);
  cairo_rectangle(cr, layout.left + 0.5, layout.top + 0.5, layout.right - layout.left - 1,
                  layout.bottom - layout.top - 1);
  for (const Tick& tick : layout.x.ticks) {
    const double px = std::round(layout.x.pixel(tick.value)) + 0.5;
    line(cr, px, layout.bottom, px, layout.bottom + kTickLength);
  }
  for (double v : layout.x.minor) {
    const double px = std::round(layout.x.pixel(v)) + 0.5;
    line(cr, px, layout.bottom, px, layout.bottom + kTickLength * 0.6);
  }
  for (const Tick& tick : layout.y.ticks) {
    const double py = std::round(layout.y.pixel(tick.value)) + 0.5;
    line(cr, layout.left - kTickLength, py, layout.left, py);
  }
  for (double v : layout.y.minor) {
    const double py = std::round(layout.y.pixel(v)) + 0.5;
    line(cr, layout.left - kTickLength * 0.6, py, layout.left, py);
  }
  if (layout.has_y2) {
    for (const Tick& tick : layout.y2.ticks) {
      const double py = std::round(layout.y2.pixel(tick.value)) + 0.5;
      line(cr, layout.right, py, layout.right + kTickLength, py);
    }
    for (double v : layout.y2.minor) {
      const double py = std::round(layout.y2.pixel(v)) + 0.5;
      line(cr, layout.right, py, layout.right + kTickLength * 0.6, py);
    }
  }
  cairo_stroke(cr);

  set_font(cr, kTickSize);
  set_colour(cr, kInk);
  const double below = layout.bottom + kTickLength + 4;
  for (const Tick& tick : layout.x.ticks) {
    const double px = layout.x.pixel(tick.value);
    if (!layout.rotated) {
      draw_tick_label(cr, px, below + 0.95 * kTickSize, tick, 0.5, Anchor::baseline);
      continue;
    }
    // Turned labels end at their tick, reading upwards to the right.
    cairo_save(cr);
    cairo_translate(cr, px + 3, below);
    cairo_rotate(cr, -kRotation);
    text_at(cr, 0, 0.75 * kTickSize, tick.text, 1);
    cairo_restore(cr);
  }
  for (const Tick& tick : layout.y.ticks) {
    draw_tick_label(cr, layout.left - kTickLength - 4, layout.y.pixel(tick.value), tick, 1,
                    Anchor::middle);
  }
  if (layout.has_y2) {
    for (const Tick& tick : layout.y2.ticks) {
      draw_tick_label(cr, layout.right + kTickLength + 4, layout.y2.pixel(tick.value), tick, 0,
                      Anchor::middle);
    }
  }

  set_font(cr, kLabelSize);
  set_colour(cr, kInk);
  text_at(cr, (layout.left + layout.right) / 2, kPlotHeight - 12,
          elided(cr, plot.x_label, layout.right - layout.left), 0.5);
  cairo_save(cr);
  cairo_translate(cr, 12 + 0.8 * kLabelSize, (layout.top + layout.bottom) / 2);
  cairo_rotate(cr, -std::numbers::pi / 2);
  text_at(cr, 0, 0, elided(cr, plot.y_label, layout.bottom - layout.top), 0.5);
  cairo_restore(cr);
  if (layout.has_y2 && !plot.y2_label.empty()) {
    cairo_save(cr);
    cairo_translate(cr,
                    layout.right + kTickLength + 4 + layout.y2_tick_width + 6 + 0.2 * kLabelSize,
                    (layout.top + layout.bottom) / 2);
    cairo_rotate(cr, std::numbers::pi / 2);
    text_at(cr, 0, 0, elided(cr, plot.y2_label, layout.bottom - layout.top), 0.5);
    cairo_restore(cr);
  }
}

void draw_legend(cairo_t* cr, const Plot& plot, const PlotLayout& layout) {
  const double x = layout.legend_left;
  double y = layout.top + 12;
  set_font(cr, kLegendSize);
  for (const auto& [i, name] : layout.legend) {
    const Series& s = plot.series[i];
    const Rgb colour = series_colour(plot, i);
    if (s.style != Series::Style::points) {
      line(cr, x, y, x + 24, y);
      set_series_line(cr, s, colour);
      cairo_stroke(cr);
      cairo_set_dash(cr, nullptr, 0, 0);
    }
    if (s.style != Series::Style::line) draw_marker(cr, i, x + 12, y, colour);
    set_colour(cr, kInk);
    text_at(cr, x + 30, y, name, 0, Anchor::middle);
    y += 18;
  }
  if (!layout.legend_more.empty()) {
    set_colour(cr, kSoftInk);
    text_at(cr, x + 30, y, layout.legend_more, 0, Anchor::middle);
  }
}

void draw_plot(cairo_t* cr, const Plot& plot, const PlotLayout& layout) {
  draw_grid(cr, layout);
  cairo_save(cr);
  cairo_rectangle(cr, layout.left, layout.top, layout.right - layout.left,
                  layout.bottom - layout.top);
  cairo_clip(cr);
  const double slot = (layout.right - layout.left) / (layout.x.hi - layout.x.lo);
  for (size_t i = 0; i < plot.boxes.size(); ++i) {
    // The boxes are one more series: the next colour after the plot's series.
    draw_box(cr, plot.boxes[i], layout.x.pixel(double(i)), std::min(0.3 * slot, 30.0), layout.y,
             cycle_colour(plot.series.size()));
  }
  for (size_t i = 0; i < plot.series.size(); ++i) {
    const Series& s = plot.series[i];
    draw_error_bars(cr, s, layout, series_colour(plot, i));
    if (s.style != Series::Style::points) draw_series_line(cr, s, layout, series_colour(plot, i));
  }
  for (size_t i = 0; i < plot.series.size(); ++i) {
    const Series& s = plot.series[i];
    if (s.style == Series::Style::line) continue;
    for (size_t k = 0; k < s.x.size(); ++k) {
      if (!drawable(layout, s, s.x[k], s.y[k])) continue;
      draw_marker(cr, i, layout.x.pixel(s.x[k]), y_axis(layout, s).pixel(s.y[k]),
                  series_colour(plot, i));
    }
  }
  cairo_restore(cr);
  for (const Series& s : plot.series) draw_point_labels(cr, s, layout);
  draw_axes(cr, plot, layout);
  draw_legend(cr, plot, layout);
  set_font(cr, kTitleSize, true);
  set_colour(cr, kInk);
  text_at(cr, kPlotWidth / 2.0, 27, layout.title, 0.5);
}

Rendered render_one(const Plot& plot) {
  Scratch scratch;
  prepare(scratch.context.get());
  const PlotLayout layout = layout_plot(plot, scratch.context.get());
  return draw_twice({kPlotWidth, kPlotHeight, [&](cairo_t* cr) { draw_plot(cr, plot, layout); }},
                    plot.title);
}

// ---------------------------------------------------------------------------
// PictureGrid

// Small pictures (28 x 28 digits) grow by a whole factor to at least this
// side, pixel for pixel (nearest neighbour); large ones shrink to the other.
constexpr int64_t kSmallestSide = 84, kLargestPictureSide = 320;
constexpr double kGridMargin = 14, kGridGap = 12, kCaptionHeight = 18, kCaptionSize = 11;

std::string row_name(const std::vector<std::string>& labels, size_t r) {
  return r < labels.size() && !labels[r].empty() ? fmt::format("row {} ('{}')", r + 1, labels[r])
                                                 : fmt::format("row {}", r + 1);
}

struct GridCell {
  Surface surface;  // the picture, already grown by its whole factor
  double shrink = 1;
  double width = 0, height = 0;  // as shown
  std::string caption;
};

struct GridLayout {
  std::vector<std::vector<GridCell>> cells;
  std::vector<double> column_widths, row_heights;
  std::vector<std::string> labels;
  double label_width = 0, top = 0;
  int64_t width = 0, height = 0;
  std::string title;
};

void check_picture(const Picture& p, const PictureGrid& grid, size_t r, size_t c) {
  const bool shaped = p.height > 0 && p.width > 0 && (p.channels == 1 || p.channels == 3) &&
                      p.height <= kLargestSide && p.width <= kLargestSide &&
                      p.pixels.size() == size_t(p.height * p.width * p.channels);
  if (!shaped) {
    throw InputError(fmt::format(
        "{}: {} picture {} is {} x {} x {} with {} bytes (want 1 or 3 channels and h*w*c bytes)",
        named(grid.title), row_name(grid.row_labels, r), c + 1, p.height, p.width, p.channels,
        p.pixels.size()));
  }
}

// The picture as a cairo surface, each pixel repeated `factor` times each
// way: growing it here keeps it crisp in the SVG too, whatever filter a
// viewer would use for a scaled image.
Surface grown_surface(const Picture& p, int64_t factor) {
  const int64_t width = p.width * factor, height = p.height * factor;
  Surface surface(cairo_image_surface_create(CAIRO_FORMAT_RGB24, int(width), int(height)));
  if (cairo_surface_status(surface.get()) != CAIRO_STATUS_SUCCESS) {
    throw RuntimeFailure(fmt::format("cannot hold a {} x {} picture: {}", width, height,
                                     cairo_status_to_string(cairo_surface_status(surface.get()))));
  }
  cairo_surface_flush(surface.get());
  unsigned char* data = cairo_image_surface_get_data(surface.get());
  const int stride = cairo_image_surface_get_stride(surface.get());
  for (int64_t y = 0; y < height; ++y) {
    auto* row = reinterpret_cast<uint32_t*>(data + y * stride);
    for (int64_t x = 0; x < width; ++x) {
      const uint8_t* from = &p.pixels[size_t(((y / factor) * p.width + x / factor) * p.channels)];
      const uint32_t r = from[0], g = from[p.channels == 3 ? 1 : 0],
                     b = from[p.channels == 3 ? 2 : 0];
      row[x] = (r << 16) | (g << 8) | b;
    }
  }
  cairo_surface_mark_dirty(surface.get());
  return surface;
}

GridLayout layout_grid(const PictureGrid& grid, cairo_t* cr) {
  GridLayout layout;
  size_t columns = 0;
  for (size_t r = 0; r < grid.rows.size(); ++r) {
    columns = std::max(columns, grid.rows[r].size());
    for (size_t c = 0; c < grid.rows[r].size(); ++c)
      check_picture(grid.rows[r][c].picture, grid, r, c);
  }
  if (columns == 0) throw InputError(fmt::format("{}: no picture to draw", named(grid.title)));

  layout.column_widths.assign(columns, 0);
  layout.row_heights.assign(grid.rows.size(), 16);  // an empty row still shows its label
  for (size_t r = 0; r < grid.rows.size(); ++r) {
    auto& row = layout.cells.emplace_back();
    for (size_t c = 0; c < grid.rows[r].size(); ++c) {
      const Picture& p = grid.rows[r][c].picture;
      const int64_t side = std::max(p.height, p.width);
      const int64_t factor = side < kSmallestSide ? (kSmallestSide + side - 1) / side : 1;
      GridCell cell;
      cell.surface = grown_surface(p, factor);
      cell.shrink = side > kLargestPictureSide ? double(kLargestPictureSide) / side : 1;
      cell.width = std::round(p.width * factor * cell.shrink);
      cell.height = std::round(p.height * factor * cell.shrink);
      layout.column_widths[c] = std::max(layout.column_widths[c], cell.width);
      layout.row_heights[r] = std::max(layout.row_heights[r], cell.height);
      row.push_back(std::move(cell));
    }
  }
  set_font(cr, kCaptionSize);
  for (size_t r = 0; r < grid.rows.size(); ++r) {
    for (size_t c = 0; c < grid.rows[r].size(); ++c) {
      layout.cells[r][c].caption =
          elided(cr, grid.rows[r][c].caption, layout.column_widths[c] + kGridGap - 4);
    }
  }
  set_font(cr, kLabelSize, true);
  double labels = 0;
  for (size_t r = 0; r < grid.rows.size(); ++r) {
    layout.labels.push_back(r < grid.row_labels.size() ? elided(cr, grid.row_labels[r], 180) : "");
    labels = std::max(labels, text_width(cr, layout.labels.back()));
  }
  layout.label_width = labels > 0 ? std::ceil(labels) + 14 : 0;

  set_font(cr, kTitleSize, true);
  const double title = text_width(cr, grid.title);
  layout.top = grid.title.empty() ? kGridMargin : 42;
  const double pictures =
      std::accumulate(layout.column_widths.begin(), layout.column_widths.end(), 0.0) +
      kGridGap * double(columns - 1);
  const double content = 2 * kGridMargin + layout.label_width + pictures;
  // Wide enough for the title, within reason.
  layout.width =
      int64_t(std::ceil(std::max({content, std::min(title + 2 * kGridMargin, 1200.0), 200.0})));
  layout.title = elided(cr, grid.title, double(layout.width) - 2 * kGridMargin);
  double height = layout.top + kGridMargin;
  for (double h : layout.row_heights) height += h + kCaptionHeight;
  height += kGridGap * double(grid.rows.size() - 1);
  layout.height = int64_t(std::ceil(height));
  return layout;
}

void draw_grid_figure(cairo_t* cr, const GridLayout& layout) {
  double y = layout.top;
  for (size_t r = 0; r < layout.cells.size(); ++r) {
    const double h = layout.row_heights[r];
    set_font(cr, kLabelSize, true);
    set_colour(cr, kInk);
    text_at(cr, kGridMargin, y + h / 2, layout.labels[r], 0, Anchor::middle);
    double x = kGridMargin + layout.label_width;
    for (size_t c = 0; c < layout.cells[r].size(); ++c) {
      const GridCell& cell = layout.cells[r][c];
      const double w = layout.column_widths[c];
      // Whole pixels, so that grown pictures keep their square pixels.
      const double px = x + std::round((w - cell.width) / 2);
      const double py = y + std::round((h - cell.height) / 2);
      cairo_save(cr);
      cairo_translate(cr, px, py);
      cairo_scale(cr, cell.shrink, cell.shrink);
      cairo_set_source_surface(cr, cell.surface.get(), 0, 0);
      cairo_pattern_set_filter(cairo_get_source(cr),
                               cell.shrink < 1 ? CAIRO_FILTER_GOOD : CAIRO_FILTER_NEAREST);
      cairo_rectangle(cr, 0, 0, cell.width / cell.shrink, cell.height / cell.shrink);
      cairo_fill(cr);
      cairo_restore(cr);
      // A light frame, so that pictures on white (molecules) keep their edges.
      set_colour(cr, kPictureBorder);
      cairo_set_line_width(cr, 1);
      cairo_rectangle(cr, px - 0.5, py - 0.5, cell.width + 1, cell.height + 1);
      cairo_stroke(cr);
      set_font(cr, kCaptionSize);
      set_colour(cr, kInk);
      text_at(cr, x + w / 2, y + h + 13, cell.caption, 0.5);
      x += w + kGridGap;
    }
    y += h + kCaptionHeight + kGridGap;
  }
  set_font(cr, kTitleSize, true);
  set_colour(cr, kInk);
  text_at(cr, double(layout.width) / 2, 27, layout.title, 0.5);
}

Rendered render_one(const PictureGrid& grid) {
  Scratch scratch;
  prepare(scratch.context.get());
  const GridLayout layout = layout_grid(grid, scratch.context.get());
  return draw_twice(
      {layout.width, layout.height, [&](cairo_t* cr) { draw_grid_figure(cr, layout); }},
      grid.title);
}

// ---------------------------------------------------------------------------
// SequenceLogo

constexpr double kLogoLeft = 62, kLogoRight = 16, kLogoLabel = 20, kLogoHeight = 110,
                 kLogoTicks = 20, kLogoGap = 12, kLogoColumn = 12, kLogoMinWidth = 400;

void check_logo(const SequenceLogo& logo) {
  if (logo.letters.empty()) throw InputError(fmt::format("{}: no letters", named(logo.title)));
  size_t positions = 0;
  for (size_t r = 0; r < logo.frequencies.size(); ++r) {
    positions = std::max(positions, logo.frequencies[r].size());
    for (size_t p = 0; p < logo.frequencies[r].size(); ++p) {
      const auto& f = logo.frequencies[r][p];
      if (f.size() != logo.letters.size()) {
        throw InputError(fmt::format("{}: {} position {} has {} frequencies for the {} letters {}",
                                     named(logo.title), row_name(logo.row_labels, r), p + 1,
                                     f.size(), logo.letters.size(), logo.letters));
      }
      for (double v : f) {
        if (!std::isfinite(v) || v < 0) {
          throw InputError(fmt::format("{}: {} position {}: frequency {} is not a number >= 0",
                                       named(logo.title), row_name(logo.row_labels, r), p + 1, v));
        }
      }
    }
  }
  if (positions == 0) throw InputError(fmt::format("{}: no position to draw", named(logo.title)));
}

struct LogoLayout {
  size_t positions = 0;
  double column = kLogoColumn, top = 0, bits = 2;
  int64_t width = 0, height = 0;
  std::vector<Tick> bit_ticks;
  int every = 5;  // a position label at 1 and at every multiple of this
  std::string title;
  std::vector<std::string> labels;
};

LogoLayout layout_logo(const SequenceLogo& logo, cairo_t* cr) {
  check_logo(logo);
  LogoLayout layout;
  for (const auto& row : logo.frequencies)
    layout.positions = std::max(layout.positions, row.size());
  const double n = double(layout.positions);
  layout.column = std::max(kLogoColumn, (kLogoMinWidth - kLogoLeft - kLogoRight) / n);
  layout.width = int64_t(std::ceil(kLogoLeft + layout.column * n + kLogoRight));
  layout.top = logo.title.empty() ? 12 : 42;
  const double rows = double(logo.frequencies.size());
  layout.height = int64_t(
      std::ceil(layout.top + rows * (kLogoLabel + kLogoHeight + kLogoTicks + kLogoGap) + 24));
  // One letter carries no information; the axis still needs a range.
  layout.bits = std::max(1.0, std::log2(double(logo.letters.size())));
  layout.bit_ticks = linear_ticks(0, layout.bits, 2);
  layout.every = layout.positions <= 50 ? 5 : layout.positions <= 120 ? 10 : 20;
  while (double(layout.positions) / layout.every > 15) layout.every *= 5;
  set_font(cr, kTitleSize, true);
  layout.title = elided(cr, logo.title, double(layout.width) - 20);
  set_font(cr, kLabelSize, true);
  for (size_t r = 0; r < logo.frequencies.size(); ++r) {
    layout.labels.push_back(r < logo.row_labels.size()
                                ? elided(cr, logo.row_labels[r], double(layout.width) - 20)
                                : "");
  }
  return layout;
}

// Classic nucleotide colours; any other letter grey.
Rgb letter_colour(char letter) {
  switch (letter) {
    case 'A':
    case 'a':
      return hex(0x109648);
    case 'C':
    case 'c':
      return hex(0x255c99);
    case 'G':
    case 'g':
      return hex(0xf7a21b);
    case 'T':
    case 't':
    case 'U':
    case 'u':
      return hex(0xd62839);
    default:
      return hex(0x7a7a7a);
  }
}

// The glyph's ink stretched to fill the box (x, top, w, h): a logo letter's
// height is its information, so the font size alone cannot set it.
void draw_letter(cairo_t* cr, char letter, double x, double top, double w, double h) {
  const std::string text = valid_utf8(std::string(1, letter));
  set_font(cr, 100, true);
  cairo_text_extents_t ink;
  cairo_text_extents(cr, text.c_str(), &ink);
  if (ink.width <= 0 || ink.height <= 0) return;  // a letter without ink (a space)
  cairo_save(cr);
  cairo_translate(cr, x, top);
  cairo_scale(cr, w / ink.width, h / ink.height);
  cairo_move_to(cr, -ink.x_bearing, -ink.y_bearing);
  cairo_text_path(cr, text.c_str());
  cairo_restore(cr);  // the path keeps the scaled shape
  set_colour(cr, letter_colour(letter));
  cairo_fill(cr);
}

// Letters at one position, stacked with the largest on top; each letter's
// height is its frequency times the position's information content
// log2(n) - H (bits), H the entropy of the frequencies (normalised to sum 1;
// no small-sample correction).
void draw_position(cairo_t* cr, const SequenceLogo& logo, const std::vector<double>& f, double x,
                   double base, double bits_per_pixel, double width) {
  const double total = std::accumulate(f.begin(), f.end(), 0.0);
  if (total <= 0) return;
  double entropy = 0;
  for (double v : f) {
    if (v > 0) entropy -= v / total * std::log2(v / total);
  }
  const double information = std::max(0.0, std::log2(double(f.size())) - entropy);
  std::vector<size_t> order(f.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return f[a] < f[b]; });
  double y = base;
  for (size_t i : order) {
    const double h = f[i] / total * information / bits_per_pixel;
    if (h < 0.25) continue;  // less than a pixel's trace
    y -= h;
    draw_letter(cr, logo.letters[i], x + 0.5, y, width - 1, h);
  }
}

void draw_logo(cairo_t* cr, const SequenceLogo& logo, const LogoLayout& layout) {
  const double right = kLogoLeft + layout.column * double(layout.positions);
  const double bits_per_pixel = layout.bits / kLogoHeight;
  double y = layout.top;
  for (size_t r = 0; r < logo.frequencies.size(); ++r) {
    set_font(cr, kLabelSize, true);
    set_colour(cr, kInk);
    text_at(cr, kLogoLeft, y + 14, layout.labels[r], 0);
    const double top = y + kLogoLabel, base = top + kLogoHeight;
    const auto& row = logo.frequencies[r];
    for (size_t p = 0; p < row.size(); ++p) {
      draw_position(cr, logo, row[p], kLogoLeft + layout.column * double(p), base, bits_per_pixel,
                    layout.column);
    }
    // Axes: bits on the left, positions (from 1) below.
    set_colour(cr, kFrame);
    cairo_set_line_width(cr, 1);
    line(cr, kLogoLeft - 3.5, top, kLogoLeft - 3.5, base + 0.5);
    line(cr, kLogoLeft - 3.5, base + 0.5, right, base + 0.5);
    for (const Tick& tick : layout.bit_ticks) {
      const double py = std::round(base - tick.value / bits_per_pixel) + 0.5;
      line(cr, kLogoLeft - 3.5 - kTickLength, py, kLogoLeft - 3.5, py);
    }
    for (size_t p = 1; p <= layout.positions; ++p) {
      if (p != 1 && p % size_t(layout.every) != 0) continue;
      const double px = std::round(kLogoLeft + layout.column * (double(p) - 0.5)) + 0.5;
      line(cr, px, base + 0.5, px, base + 0.5 + 4);
    }
    cairo_stroke(cr);
    set_font(cr, kTickSize);
    set_colour(cr, kInk);
    for (const Tick& tick : layout.bit_ticks) {
      draw_tick_label(cr, kLogoLeft - 3.5 - kTickLength - 3, base - tick.value / bits_per_pixel,
                      tick, 1, Anchor::middle);
    }
    for (size_t p = 1; p <= layout.positions; ++p) {
      if (p != 1 && p % size_t(layout.every) != 0) continue;
      text_at(cr, kLogoLeft + layout.column * (double(p) - 0.5), base + 16, std::to_string(p), 0.5);
    }
    set_font(cr, kLabelSize);
    cairo_save(cr);
    cairo_translate(cr, 16, (top + base) / 2);
    cairo_rotate(cr, -std::numbers::pi / 2);
    text_at(cr, 0, 0, "bits", 0.5);
    cairo_restore(cr);
    y += kLogoLabel + kLogoHeight + kLogoTicks + kLogoGap;
  }
  set_font(cr, kLabelSize);
  set_colour(cr, kInk);
  text_at(cr, (kLogoLeft + right) / 2, double(layout.height) - 12, "position", 0.5);
  set_font(cr, kTitleSize, true);
  text_at(cr, double(layout.width) / 2, 27, layout.title, 0.5);
}

Rendered render_one(const SequenceLogo& logo) {
  Scratch scratch;
  prepare(scratch.context.get());
  const LogoLayout layout = layout_logo(logo, scratch.context.get());
  return draw_twice(
      {layout.width, layout.height, [&](cairo_t* cr) { draw_logo(cr, logo, layout); }}, logo.title);
}

// ---------------------------------------------------------------------------
// CSV

std::string number(double v) {
  if (!std::isfinite(v)) return "";
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.9g", v);
  return buffer;
}

std::string csv_of(const Plot& plot) {
  check_plot(plot);
  std::string out;
  if (!plot.series.empty() || plot.boxes.empty()) {
    out += "series,x,y,y_low,y_high,label\n";
    for (const Series& s : plot.series) {
      for (size_t i = 0; i < s.x.size(); ++i) {
        out += csv_line({s.name, number(s.x[i]), number(s.y[i]),
                         s.y_low.empty() ? "" : number(s.y_low[i]),
                         s.y_high.empty() ? "" : number(s.y_high[i]),
                         s.labels.empty() ? "" : s.labels[i]}) +
               "\n";
      }
    }
  }
  if (plot.boxes.empty()) return out;
  if (!out.empty()) out += "\n";
  out += "box,label,whisker_low,q25,median,q75,whisker_high,median_low,median_high\n";
  for (size_t i = 0; i < plot.boxes.size(); ++i) {
    const Box& b = plot.boxes[i];
    out += csv_line({std::to_string(i), b.label, number(b.whisker_low), number(b.q25),
                     number(b.median), number(b.q75), number(b.whisker_high), number(b.median_low),
                     number(b.median_high)}) +
           "\n";
  }
  return out;
}

std::string label_of(const std::vector<std::string>& labels, size_t r) {
  return r < labels.size() ? labels[r] : "";
}

std::string csv_of(const PictureGrid& grid) {
  std::string out = "row,column,caption\n";
  for (size_t r = 0; r < grid.rows.size(); ++r) {
    for (size_t c = 0; c < grid.rows[r].size(); ++c) {
      out +=
          csv_line({label_of(grid.row_labels, r), std::to_string(c + 1), grid.rows[r][c].caption}) +
          "\n";
    }
  }
  return out;
}

std::string csv_of(const SequenceLogo& logo) {
  std::string out = "row,position,letter,frequency\n";
  for (size_t r = 0; r < logo.frequencies.size(); ++r) {
    for (size_t p = 0; p < logo.frequencies[r].size(); ++p) {
      const auto& f = logo.frequencies[r][p];
      for (size_t i = 0; i < f.size() && i < logo.letters.size(); ++i) {
        out += csv_line({label_of(logo.row_labels, r), std::to_string(p + 1),
                         std::string(1, logo.letters[i]), number(f[i])}) +
               "\n";
      }
    }
  }
  return out;
}

}  // namespace

Rendered render(const Figure& figure) {
  return std::visit([](const auto& f) { return render_one(f); }, figure);
}

std::string figure_csv(const Figure& figure) {
  return std::visit([](const auto& f) { return csv_of(f); }, figure);
}

size_t series_count(const Figure& figure) {
  if (const auto* plot = std::get_if<Plot>(&figure)) {
    return plot->series.size() + (plot->boxes.empty() ? 0 : 1);
  }
  if (const auto* grid = std::get_if<PictureGrid>(&figure)) return grid->rows.size();
  return std::get<SequenceLogo>(figure).frequencies.size();
}

void write_figure(const std::filesystem::path& dir, const std::string& stem, const Figure& figure) {
  // Everything is drawn before the first file is written: a figure that
  // cannot be drawn leaves no files behind.
  const Rendered rendered = render(figure);
  const std::string csv = figure_csv(figure);
  write_file_atomically(dir / (stem + ".svg"), rendered.svg);
  write_file_atomically(dir / (stem + ".png"), rendered.png);
  write_file_atomically(dir / (stem + ".csv"), csv);
}

}  // namespace svdd::report
