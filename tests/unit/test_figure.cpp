// The report's figures (core/src/report/figure.hpp): every kind renders to a
// well-formed SVG and a PNG of the size it says; what is drawn lands where
// its data says (points, error bars, pictures pixel for pixel, logo letters);
// the CSV holds the numbers; figures that cannot be drawn are refused.
//
// Colours are read back from the PNG: series i is drawn in the i-th
// Tableau 10 colour (0 blue #1f77b4, 1 orange #ff7f0e), boxes in the colour
// after the series', and logo letters in the classic A green, T red.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <regex>
#include <sstream>

#include "catch_torch.hpp"
#include "report/figure.hpp"
#include "svdd/error.hpp"
#include "svdd/io/png_image.hpp"
#include "toy_fixture.hpp"
#include "xml_check.hpp"

using Catch::Contains;
using svdd::Picture;
using namespace svdd::report;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

using PixelTest = std::function<bool(int r, int g, int b)>;

// Tolerant colour classes: the core of a stroke or marker, not its
// anti-aliased rim blended with the white background.
bool blue(int r, int, int b) { return b > r + 80; }
bool orange(int r, int, int b) { return r > 200 && r > b + 120; }
bool green(int r, int g, int b) { return g > r + 60 && g > b + 40; }
bool red(int r, int g, int b) { return r > 150 && r > g + 90 && r > b + 70; }
bool not_white(int r, int g, int b) { return r < 250 || g < 250 || b < 250; }

struct Where {
  size_t count = 0;
  double mean_x = 0, mean_y = 0;
  int64_t min_y = std::numeric_limits<int64_t>::max(), max_y = -1;
};

// The pixels of `image` (RGB) that pass `test`: how many and where.
Where find(const Picture& image, const PixelTest& test) {
  REQUIRE(image.channels == 3);
  Where where;
  for (int64_t y = 0; y < image.height; ++y) {
    for (int64_t x = 0; x < image.width; ++x) {
      const uint8_t* p = &image.pixels[size_t((y * image.width + x) * 3)];
      if (!test(p[0], p[1], p[2])) continue;
      ++where.count;
      where.mean_x += double(x);
      where.mean_y += double(y);
      where.min_y = std::min(where.min_y, y);
      where.max_y = std::max(where.max_y, y);
    }
  }
  if (where.count) {
    where.mean_x /= double(where.count);
    where.mean_y /= double(where.count);
  }
  return where;
}

size_t exactly(const Picture& image, int r, int g, int b) {
  return find(image, [&](int pr, int pg, int pb) { return pr == r && pg == g && pb == b; }).count;
}

// The width and height attributes of the <svg> root, as numbers.
std::pair<double, double> svg_size(const std::string& svg) {
  std::smatch root;
  REQUIRE(std::regex_search(svg, root, std::regex("<svg[^>]*>")));
  const std::string tag = root.str();
  std::smatch w, h;
  REQUIRE(std::regex_search(tag, w, std::regex("\\swidth=\"([0-9.]+)(px)?\"")));
  REQUIRE(std::regex_search(tag, h, std::regex("\\sheight=\"([0-9.]+)(px)?\"")));
  return {std::stod(w[1]), std::stod(h[1])};
}

// Renders `figure` and checks what every rendering must satisfy: a
// well-formed SVG of the stated size, a PNG of that size with content.
Picture rendered_png(const Figure& figure, Rendered* out = nullptr) {
  const Rendered rendered = render(figure);
  INFO(rendered.svg.substr(0, 400));
  CHECK(svdd::test::xml_problem(rendered.svg) == "");
  const auto [w, h] = svg_size(rendered.svg);
  CHECK(w == double(rendered.width));
  CHECK(h == double(rendered.height));
  Picture png = svdd::decode_png(rendered.png, "figure PNG");
  CHECK(png.width == rendered.width);
  CHECK(png.height == rendered.height);
  CHECK(png.channels == 3);
  CHECK(find(png, not_white).count > 500);
  if (out) *out = rendered;
  return png;
}

Series series(std::string name, std::vector<double> x, std::vector<double> y,
              Series::Style style = Series::Style::line_points) {
  Series s;
  s.name = std::move(name);
  s.style = style;
  s.x = std::move(x);
  s.y = std::move(y);
  return s;
}

Picture filled(int64_t height, int64_t width, std::vector<uint8_t> colour) {
  Picture p{height, width, int64_t(colour.size()), {}};
  for (int64_t i = 0; i < height * width; ++i)
    p.pixels.insert(p.pixels.end(), colour.begin(), colour.end());
  return p;
}

// A logo row whose every position is one letter for sure.
std::vector<std::vector<double>> certain(size_t letter, size_t positions, size_t letters = 4) {
  std::vector<double> f(letters, 0.0);
  f[letter] = 1;
  return std::vector<std::vector<double>>(positions, f);
}

}  // namespace

TEST_CASE("a plot of two series renders, with a legend in both colours", "[figure]") {
  Plot plot;
  plot.title = "reward by step";
  plot.x_label = "step";
  plot.y_label = "reward";
  plot.series = {series("svdd", {0, 1, 2, 3}, {0.1, 0.4, 0.5, 0.9}),
                 series("pretrained", {0, 1, 2, 3}, {0.1, 0.2, 0.2, 0.3})};
  plot.series[1].dashed = true;
  Rendered rendered;
  const Picture png = rendered_png(plot, &rendered);
  CHECK(rendered.width == 720);
  CHECK(rendered.height == 480);
  CHECK(find(png, blue).count > 100);
  CHECK(find(png, orange).count > 100);
  CHECK_THAT(rendered.svg, Contains("<svg"));
  CHECK(series_count(plot) == 2);
}

TEST_CASE("a plot draws its points where their values say", "[figure]") {
  // Unnamed series: no legend entries whose colours would blur the result.
  Plot plot;
  plot.series = {series("", {0, 1}, {10, 9}, Series::Style::points),
                 series("", {8, 9}, {1, 0}, Series::Style::points)};
  const Picture png = rendered_png(plot);
  const Where top_left = find(png, blue), bottom_right = find(png, orange);
  REQUIRE(top_left.count > 20);
  REQUIRE(bottom_right.count > 20);
  CHECK(top_left.mean_x < 0.35 * double(png.width));
  CHECK(top_left.mean_y < 0.35 * double(png.height));
  CHECK(bottom_right.mean_x > 0.6 * double(png.width));
  CHECK(bottom_right.mean_y > 0.6 * double(png.height));
}

// The right axis: its series span the plot on their own scale and leave the
// left axis as it was; `colour` lets a twin share its curve's colour.
TEST_CASE("a series on the right axis has its own scale", "[figure]") {
  Plot plot;
  plot.series = {series("", {0, 1}, {10, 9}, Series::Style::points),
                 series("", {8, 9}, {1e3, 1e6}, Series::Style::points)};
  plot.series[1].right_axis = true;
  plot.y2_scale = Scale::log;
  plot.y2_label = "rows";
  const Picture png = rendered_png(plot);
  const Where left = find(png, blue), right = find(png, orange);
  REQUIRE(left.count > 20);
  REQUIRE(right.count > 20);
  // The left series spans the left axis (10 near the top), which the right
  // one's millions would have pressed to the bottom.
  CHECK(left.mean_x < 0.35 * double(png.width));
  CHECK(left.min_y < int64_t(0.25 * double(png.height)));
  // The right one spans the height: 1e3 near the bottom, 1e6 near the top.
  CHECK(right.mean_x > 0.6 * double(png.width));
  CHECK(right.min_y < int64_t(0.25 * double(png.height)));
  CHECK(right.max_y > int64_t(0.75 * double(png.height)));
  plot.series[1].colour = 0;
  CHECK(find(rendered_png(plot), orange).count == 0);
}

TEST_CASE("error bars reach from y_low to y_high", "[figure]") {
  Plot plot;
  plot.series = {series("", {1}, {5}, Series::Style::points)};
  const Where point = find(rendered_png(plot), blue);
  plot.series[0].y_low = {0};
  plot.series[0].y_high = {10};
  const Picture with_bars = rendered_png(plot);
  const Where bar = find(with_bars, blue);
  CHECK(point.max_y - point.min_y < 12);  // a marker alone
  // The bar spans the y range but its 5% padding at each end.
  CHECK(double(bar.max_y - bar.min_y) > 0.7 * double(with_bars.height));
}

TEST_CASE("a log axis skips values that are not positive", "[figure]") {
  Plot plot;
  plot.title = "log x";
  plot.x_scale = Scale::log;
  plot.series = {series("a", {1, 10, 100, 1000}, {1, 2, 3, 4})};
  const Rendered without_zero = render(plot);
  plot.series[0].x.insert(plot.series[0].x.begin(), 0.0);
  plot.series[0].y.insert(plot.series[0].y.begin(), 7.0);
  Rendered with_zero;
  rendered_png(plot, &with_zero);
  // The zero is neither drawn nor counted in either range.
  CHECK(with_zero.png == without_zero.png);
  CHECK(figure_csv(plot).find("a,0,7,,,\n") != std::string::npos);

  plot.series[0].x = {0, -1};
  plot.series[0].y = {1, 2};
  CHECK_THROWS_AS(render(plot), svdd::InputError);
}

TEST_CASE("a plot of three series with error bars on a log x axis", "[figure]") {
  Plot plot;
  plot.title = "median reward by candidates";
  plot.x_label = "candidates per step";
  plot.y_label = "median reward";
  plot.x_scale = Scale::log;
  const std::vector<double> x = {1, 2, 4, 8, 16, 32, 64};
  for (int k = 0; k < 3; ++k) {
    Series s = series(k == 0 ? "svdd_pm" : k == 1 ? "svdd_mc" : "best_of_n", x, {});
    for (double v : x) {
      const double y = 0.2 + 0.1 * (3 - k) * std::log2(v) / 6;
      s.y.push_back(y);
      s.y_low.push_back(y - 0.03);
      s.y_high.push_back(y + 0.03);
    }
    s.dashed = k == 2;
    plot.series.push_back(s);
  }
  plot.series[0].labels = {"", "", "", "", "", "", "best"};
  const Picture png = rendered_png(plot);
  CHECK(find(png, blue).count > 200);
  CHECK(find(png, orange).count > 200);
  CHECK(find(png, green).count > 200);
}

TEST_CASE("a constant series and a plot with gaps still render", "[figure]") {
  Plot plot;
  plot.series = {series("flat", {0, 1, 2}, {3, 3, 3})};
  CHECK(find(rendered_png(plot), blue).count > 100);
  plot.y_scale = Scale::log;
  CHECK(find(rendered_png(plot), blue).count > 100);
  plot.y_scale = Scale::linear;
  plot.series = {
      series("gaps", {0, 1, 2, 3}, {1, kNaN, 2, std::numeric_limits<double>::infinity()})};
  CHECK(find(rendered_png(plot), blue).count > 50);
  CHECK(figure_csv(plot) ==
        "series,x,y,y_low,y_high,label\ngaps,0,1,,,\ngaps,1,,,,\ngaps,2,2,,,\ngaps,3,,,,\n");
}

TEST_CASE("a box plot of five categories renders its boxes", "[figure]") {
  Plot plot;
  plot.title = "reward of each method";
  plot.y_label = "reward";
  for (int i = 0; i < 5; ++i) {
    Box box;
    box.label = i == 2 ? "classifier_guidance[guidance_scale=3]" : "method " + std::to_string(i);
    box.whisker_low = i;
    box.q25 = i + 1;
    box.median = i + 1.5;
    box.q75 = i + 2;
    box.whisker_high = i + 3;
    box.median_low = i + 1.3;
    box.median_high = i + 1.7;
    box.outliers = {i + 4.0, i - 1.0};
    plot.boxes.push_back(box);
  }
  const Picture png = rendered_png(plot);
  // With no series, the boxes take the first colour: five boxes' worth of it.
  CHECK(find(png, blue).count > 1000);
  CHECK(series_count(plot) == 1);
  const std::string csv = figure_csv(plot);
  CHECK(csv.rfind("box,label,whisker_low,q25,median,q75,whisker_high,median_low,median_high\n"
                  "0,method 0,0,1,1.5,2,3,1.3,1.7\n",
                  0) == 0);
  CHECK(std::count(csv.begin(), csv.end(), '\n') == 6);
}

TEST_CASE("a plot with series and boxes writes both tables", "[figure]") {
  Plot plot;
  plot.x_categories = {"a", "b,c"};
  plot.series = {series("mean, all", {0, 1}, {1.0 / 3, 2})};
  plot.series[0].labels = {"x", "say \"y\""};
  Box box;
  box.label = "a";
  box.median = 1;
  plot.boxes = {box};
  rendered_png(plot);
  CHECK(series_count(plot) == 2);
  CHECK(figure_csv(plot) ==
        "series,x,y,y_low,y_high,label\n"
        "\"mean, all\",0,0.333333333,,,x\n"
        "\"mean, all\",1,2,,,\"say \"\"y\"\"\"\n"
        "\n"
        "box,label,whisker_low,q25,median,q75,whisker_high,median_low,median_high\n"
        "0,a,0,0,1,0,0,0,0\n");
}

TEST_CASE("plots that cannot be drawn are refused naming the figure", "[figure]") {
  Plot plot;
  plot.title = "broken plot";
  plot.series = {series("s", {0, 1}, {1})};
  CHECK_THROWS_WITH(render(plot), Contains("broken plot") && Contains("2 x values but 1 y values"));
  CHECK_THROWS_AS(figure_csv(plot), svdd::InputError);
  plot.series = {series("s", {0, 1}, {1, 2})};
  plot.series[0].y_high = {1};
  CHECK_THROWS_WITH(render(plot), Contains("y_high"));
  plot.series[0].y_high.clear();
  plot.series[0].labels = {"a", "b", "c"};
  CHECK_THROWS_WITH(render(plot), Contains("labels"));
  plot.series = {series("s", {kNaN, 1}, {1, kNaN})};
  CHECK_THROWS_WITH(render(plot), Contains("broken plot") && Contains("no point to draw"));
  plot.series.clear();
  CHECK_THROWS_AS(render(plot), svdd::InputError);
}

TEST_CASE("a picture grid shows small pictures grown pixel for pixel", "[figure]") {
  PictureGrid grid;
  grid.title = "samples";
  grid.row_labels = {"pretrained", "svdd_pm"};
  grid.rows.resize(2);
  for (int c = 0; c < 3; ++c)
    grid.rows[0].push_back({filled(28, 28, {0}), "0.5" + std::to_string(c)});
  grid.rows[1].push_back({filled(10, 20, {255, 0, 0}), "red"});
  Rendered rendered;
  const Picture png = rendered_png(grid, &rendered);
  // 28 x 28 grows 3 times to 84 x 84; 10 x 20 grows 5 times to 50 x 100.
  CHECK(exactly(png, 0, 0, 0) == 3 * 84 * 84);
  CHECK(exactly(png, 255, 0, 0) == 50 * 100);
  CHECK(rendered.width > 3 * 84);
  CHECK(rendered.height > 84 + 50);
  CHECK(series_count(grid) == 2);
  // The embedded images keep their ids from one drawing to the next.
  CHECK_THAT(rendered.svg, Contains("id=\"image1\""));
  CHECK(render(grid).svg == rendered.svg);
  CHECK(figure_csv(grid) ==
        "row,column,caption\npretrained,1,0.50\npretrained,2,0.51\npretrained,3,0.52\n"
        "svdd_pm,1,red\n");
}

TEST_CASE("a picture grid shrinks large pictures and grows with its rows", "[figure]") {
  PictureGrid grid;
  grid.rows = {{{filled(400, 200, {0, 0, 0}), ""}}};
  const Picture one = rendered_png(grid);
  CHECK(exactly(one, 0, 0, 0) > 300 * 150);  // shrunk to 320 x 160 ...
  CHECK(exactly(one, 0, 0, 0) < 330 * 170);  // ... not left at 400 x 200
  grid.rows.push_back({{filled(40, 40, {128}), ""}});
  const Picture two = rendered_png(grid);
  CHECK(two.height > one.height + 84);
}

TEST_CASE("picture grids that cannot be drawn are refused", "[figure]") {
  PictureGrid grid;
  grid.title = "empty grid";
  CHECK_THROWS_WITH(render(grid), Contains("empty grid") && Contains("no picture"));
  grid.rows = {{}, {}};
  CHECK_THROWS_AS(render(grid), svdd::InputError);
  Picture bad = filled(4, 4, {0});
  bad.pixels.pop_back();
  grid.rows = {{{bad, ""}}};
  CHECK_THROWS_WITH(render(grid), Contains("row 1 picture 1"));
  grid.rows = {{{filled(4, 4, {0, 0}), ""}}};
  CHECK_THROWS_AS(render(grid), svdd::InputError);
}

TEST_CASE("a sequence logo stacks letters by information", "[figure]") {
  SequenceLogo logo;
  logo.title = "motifs";
  logo.letters = "ACGT";
  logo.row_labels = {"all A", "all T"};
  logo.frequencies = {certain(0, 10), certain(3, 10)};
  Rendered rendered;
  const Picture png = rendered_png(logo, &rendered);
  CHECK(rendered.width == 400);  // the narrowest logo
  const Where a = find(png, green), t = find(png, red);
  // Ten full-height letters (2 bits) each.
  REQUIRE(a.count > 10 * 100);
  REQUIRE(t.count > 10 * 100);
  CHECK(a.mean_y < t.mean_y);  // the first row above the second
  CHECK(a.max_y - a.min_y > 100);
  CHECK(series_count(logo) == 2);

  // Uniform positions carry no information: no letters at all.
  logo.frequencies = {std::vector<std::vector<double>>(10, {0.25, 0.25, 0.25, 0.25})};
  const Picture flat = rendered_png(logo);
  CHECK(find(flat, green).count == 0);
  CHECK(find(flat, red).count == 0);

  // Half A, half T: two letters of half a bit each.
  logo.frequencies = {std::vector<std::vector<double>>(10, {0.5, 0, 0, 0.5})};
  const Picture half = rendered_png(logo);
  const Where ha = find(half, green), ht = find(half, red);
  CHECK(ha.count > 0);
  CHECK(ht.count > 0);
  CHECK(ha.max_y - ha.min_y < 40);  // a quarter of the axis, not all of it
}

TEST_CASE("a sequence logo grows with its length and writes its frequencies", "[figure]") {
  SequenceLogo logo;
  logo.letters = "ACGU";
  logo.frequencies = {certain(1, 100)};
  CHECK(render(logo).width >= 100 * 12);
  logo.frequencies = {{{0.5, 0.5, 0, 0}, {0, 0, 0, 1}}};
  logo.row_labels = {"run"};
  CHECK(figure_csv(logo) ==
        "row,position,letter,frequency\nrun,1,A,0.5\nrun,1,C,0.5\nrun,1,G,0\nrun,1,U,0\n"
        "run,2,A,0\nrun,2,C,0\nrun,2,G,0\nrun,2,U,1\n");
}

TEST_CASE("sequence logos that cannot be drawn are refused", "[figure]") {
  SequenceLogo logo;
  logo.title = "bad logo";
  logo.letters = "ACGT";
  CHECK_THROWS_WITH(render(logo), Contains("bad logo") && Contains("no position"));
  logo.frequencies = {{{1, 0, 0}}};
  CHECK_THROWS_WITH(render(logo), Contains("3 frequencies for the 4 letters"));
  logo.frequencies = {{{1, 0, 0, -0.5}}};
  CHECK_THROWS_AS(render(logo), svdd::InputError);
  logo.letters = "";
  CHECK_THROWS_AS(render(logo), svdd::InputError);
}

TEST_CASE("texts that are not UTF-8 are drawn, not refused", "[figure]") {
  Plot plot;
  plot.title = "bad \xff\xfe bytes\nand a line break";
  plot.series = {series("\xc3", {0, 1}, {0, 1})};
  rendered_png(plot);
}

TEST_CASE("write_figure writes the SVG, PNG and CSV", "[figure]") {
  svdd::test::TempDir dir;
  Plot plot;
  plot.title = "written";
  plot.series = {series("a", {0, 1}, {0, 1})};
  write_figure(dir.path(), "reward", plot);
  auto read = [&](const std::string& name) {
    std::ifstream in(dir.path() / name, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  };
  // Drawn again: the same bytes (cairo's process-wide ids are renumbered).
  const Rendered rendered = render(plot);
  CHECK(read("reward.svg") == rendered.svg);
  CHECK(read("reward.png") == rendered.png);
  CHECK(read("reward.csv") == figure_csv(plot));
  size_t files = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator(dir.path()))
    ++files;
  CHECK(files == 3);  // no temporary files left

  CHECK_THROWS_AS(write_figure(dir.path() / "missing", "reward", plot), svdd::RuntimeFailure);
  plot.series.clear();
  CHECK_THROWS_AS(write_figure(dir.path(), "empty", plot), svdd::InputError);
  CHECK(!std::filesystem::exists(dir.path() / "empty.svg"));
}

// Not a check: writes example figures to look at, into the folder named by
// SVDD_FIGURE_EXAMPLES (run `svdd_tests "[.figure_examples]"`).
TEST_CASE("example figures", "[.figure_examples]") {
  const char* folder = std::getenv("SVDD_FIGURE_EXAMPLES");
  REQUIRE(folder != nullptr);
  const std::filesystem::path dir = folder;
  std::filesystem::create_directories(dir);

  Plot log_plot;
  log_plot.title = "Median reward by candidates per step (bootstrap 95% intervals)";
  log_plot.x_label = "candidates per step";
  log_plot.y_label = "median reward";
  log_plot.x_scale = Scale::log;
  const std::vector<double> x = {1, 2, 4, 8, 16, 32, 64, 128};
  const char* names[] = {"svdd_pm", "svdd_mc[candidates=2]", "best_of_n"};
  for (int k = 0; k < 3; ++k) {
    Series s = series(names[k], x, {});
    for (double v : x) {
      const double y = 0.2 + 0.09 * (3 - k) * std::log2(v) / 7;
      s.y.push_back(y);
      s.y_low.push_back(y - 0.01 - 0.004 * std::log2(v));
      s.y_high.push_back(y + 0.012 + 0.003 * std::log2(v));
    }
    s.dashed = k == 2;
    log_plot.series.push_back(s);
  }
  log_plot.series[0].labels = {"", "", "", "", "", "", "", "0.47"};
  write_figure(dir, "plot_log_x", log_plot);

  Plot boxes;
  boxes.title = "Reward of every sample, by method";
  boxes.y_label = "reward (HepG2 activity)";
  const char* methods[] = {"pretrained", "best_of_n", "smc", "svdd_pm",
                           "classifier_guidance[guidance_scale=3]"};
  for (int i = 0; i < 5; ++i) {
    Box box;
    box.label = methods[i];
    box.median = 1 + 0.8 * i;
    box.q25 = box.median - 0.6;
    box.q75 = box.median + 0.5 + 0.1 * i;
    box.whisker_low = box.q25 - 0.9;
    box.whisker_high = box.q75 + 1.1;
    box.median_low = box.median - 0.2;
    box.median_high = box.median + 0.25;
    box.outliers = {box.whisker_high + 0.4, box.whisker_low - 0.3, box.whisker_high + 0.9};
    boxes.boxes.push_back(box);
  }
  write_figure(dir, "plot_boxes", boxes);

  PictureGrid grid;
  grid.title = "Samples of each method (reward under each)";
  grid.row_labels = {"pretrained", "svdd_pm"};
  grid.rows.resize(2);
  for (int c = 0; c < 6; ++c) {
    Picture digit{28, 28, 1, std::vector<uint8_t>(28 * 28, 0)};
    for (int y = 6; y < 22; ++y) {
      for (int xx = 6; xx < 22; ++xx) {
        const double d = std::hypot(y - 14.0, xx - 14.0);
        if (std::abs(d - 6 - c * 0.3) < 1.6) digit.pixels[size_t(y * 28 + xx)] = 255;
      }
    }
    grid.rows[0].push_back({digit, fmt::format("{:.3f}", 0.1 * c)});
    Picture colour{40, 60, 3, {}};
    for (int i = 0; i < 40 * 60; ++i) {
      colour.pixels.push_back(uint8_t(i % 60 * 4));
      colour.pixels.push_back(uint8_t(i / 60 * 6));
      colour.pixels.push_back(uint8_t(40 * c));
    }
    grid.rows[1].push_back({colour, fmt::format("{:.3f}", 0.5 + 0.08 * c)});
  }
  write_figure(dir, "picture_grid", grid);

  SequenceLogo logo;
  logo.title = "Sequence logos of the designed enhancers";
  logo.letters = "ACGT";
  logo.row_labels = {"pretrained", "svdd_pm"};
  // A motif (TATA...) at positions 12-23, sharper in the guided row.
  const std::string motif = "TATAAAGGCGCC";
  for (int r = 0; r < 2; ++r) {
    std::vector<std::vector<double>> row;
    for (int p = 0; p < 40; ++p) {
      std::vector<double> f = {0.25 + 0.05 * std::sin(p), 0.25, 0.25 - 0.05 * std::sin(p), 0.25};
      if (p >= 11 && p < 23) {
        const double sharp = (r == 0 ? 0.35 : 0.8) * (0.6 + 0.4 * std::cos(p));
        for (double& v : f) v *= 1 - sharp;
        f[logo.letters.find(motif[size_t(p - 11)])] += sharp;
      }
      row.push_back(f);
    }
    logo.frequencies.push_back(row);
  }
  write_figure(dir, "sequence_logo", logo);
}
