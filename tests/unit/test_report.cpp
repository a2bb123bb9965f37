// Reports (core/src/report/report.hpp, svdd report): every figure a run
// folder gets is written as SVG (well-formed XML), PNG (decodes, not blank)
// and CSV (the series it draws); report.html references only files that
// exist and embeds one picture per figure; table1 has the rows, columns,
// bold cells and paper figures it promises. The browser test renders the
// page in headless Chromium (label browser).
#include <fmt/format.h>

#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "catch_torch.hpp"
#include "needs_data.hpp"
#include "report/figure.hpp"
#include "report/report.hpp"
#include "svdd/error.hpp"
#include "svdd/io/csv.hpp"
#include "svdd/io/png_image.hpp"
#include "svdd/run/report.hpp"
#include "svdd/run/runner.hpp"
#include "toy_fixture.hpp"
#include "xml_check.hpp"

using Catch::Contains;
using svdd::test::TempDir;

namespace {

const std::string kReported = R"([experiment]
name = "reported"
seed = 1
samples = 48
batch_size = 24

[model]
type = "toy.categorical"
steps = 12

[reward]
type = "toy.token_count"
token = "A"

[eval.token_b]
type = "toy.token_count"
token = "B"

[methods.pretrained]
type = "pretrained"

[methods.svdd_pm]
type = "svdd"
alpha = 0.0

[methods.smc]
type = "smc"
alpha = 0.2
group_size = 8

[sweep]
methods.svdd_pm.candidates = [2, 4, 8]
)";

std::string slurp(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

svdd::Registry core_registry() {
  svdd::Registry registry;
  svdd::register_core_components(registry);
  return registry;
}

std::filesystem::path run_folder(const TempDir& dir, const std::string& name,
                                 const std::string& text, const svdd::Registry& registry) {
  const auto out = dir.path() / name;
  svdd::RunOptions options;
  options.out_dir = out;
  options.progress = false;
  svdd::run_experiment(svdd::load_experiment(dir.write(name + ".toml", text), {}, registry),
                       registry, options);
  return out;
}

// The distinct values of the first column of a figure's CSV (its series,
// boxes or rows), up to the first blank line.
std::set<std::string> csv_series(const std::filesystem::path& file) {
  std::ifstream in(file);
  std::string line;
  std::getline(in, line);  // header
  std::set<std::string> series;
  while (std::getline(in, line) && !line.empty()) series.insert(svdd::csv_split(line).front());
  return series;
}

size_t count_of(const std::string& text, const std::string& part) {
  size_t n = 0;
  for (size_t at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) ++n;
  return n;
}

}  // namespace

TEST_CASE("a run folder's report: every figure in SVG, PNG and CSV, and a page that shows them",
          "[unit][report]") {
  TempDir dir;
  const auto registry = core_registry();
  const auto out = run_folder(dir, "reported", kReported, registry);
  const auto figures = out / "figures";
  REQUIRE(std::filesystem::is_directory(figures));
  std::set<std::string> stems;
  for (const auto& entry : std::filesystem::directory_iterator(figures)) {
    stems.insert(entry.path().stem().string());
  }
  // Distributions (reward, token_b), compute, the sweep (reward, and rows on a right axis),
  // diversity and token_b against reward, SMC's per-step reports, logos.
  for (const char* stem :
       {"reported_reward_distribution", "reported_eval_token_b_distribution",
        "reported_reward_vs_compute", "reported_sweep_candidates", "reported_diversity_vs_reward",
        "reported_eval_token_b_median_vs_reward", "reported_sequence_logo"}) {
    INFO(stem);
    CHECK(stems.count(stem) == 1);
  }
  CHECK(std::any_of(stems.begin(), stems.end(),
                    [](const std::string& s) { return s.rfind("reported_diagnostic_", 0) == 0; }));
  for (const auto& stem : stems) {
    INFO(stem);
    const std::string svg = slurp(figures / (stem + ".svg"));
    CHECK(svdd::test::xml_problem(svg).empty());
    CHECK(svg.find("<svg") != std::string::npos);
    const svdd::PngImage png = svdd::decode_png(slurp(figures / (stem + ".png")));
    CHECK(png.width >= 300);
    size_t inked = 0;
    for (uint8_t v : png.pixels) inked += v < 200;
    CHECK(inked > png.pixels.size() / 200);
    CHECK(std::filesystem::file_size(figures / (stem + ".csv")) > 20);
  }
  // Series: one per method and the best-of-N curve; one box per run (5
  // runs); the sweep's one line; three logo rows... five, one per run.
  CHECK(
      csv_series(figures / "reported_reward_vs_compute.csv") ==
      std::set<std::string>{"pretrained", "svdd_pm", "smc", "best-of-N (from pretrained rewards)"});
  // The sweep: its reward line, and the rows it cost on the right axis.
  CHECK(csv_series(figures / "reported_sweep_candidates.csv") ==
        std::set<std::string>{"svdd_pm", "svdd_pm: rows/sample"});
  CHECK(!std::filesystem::exists(figures / "reported_sweep_rows_candidates.svg"));
  CHECK(csv_series(figures / "reported_reward_distribution.csv").size() == 5);
  CHECK(csv_series(figures / "reported_sequence_logo.csv").size() == 5);

  // report.html: one embedded picture per figure, and every link and source
  // that is not a data URI names a file that exists.
  const std::string html = slurp(out / "report.html");
  // (Plain searches: std::regex recurses per character and overflows the
  // stack on megabytes of base64.)
  CHECK(count_of(html, "<img ") == stems.size());
  CHECK(count_of(html, "src=\"data:image/svg+xml;base64,") == stems.size());
  size_t links = 0;
  for (const std::string attribute : {"href=\"", "src=\""}) {
    for (size_t at = html.find(attribute); at != std::string::npos;
         at = html.find(attribute, at + 1)) {
      const size_t start = at + attribute.size();
      const std::string target = html.substr(start, html.find('"', start) - start);
      if (target.rfind("data:", 0) == 0) continue;
      INFO(target);
      CHECK(target.find("://") == std::string::npos);  // nothing from the network
      CHECK(std::filesystem::exists(out / target));
      ++links;
    }
  }
  CHECK(links == 3 * stems.size());

  // svdd report remakes the same from the folder alone, elsewhere.
  svdd::report_folders({out}, dir.path() / "again", registry);
  CHECK(slurp(dir.path() / "again" / "table1.md") == slurp(out / "table1.md"));
  CHECK(slurp(dir.path() / "again" / "figures" / "reported_reward_vs_compute.csv") ==
        slurp(figures / "reported_reward_vs_compute.csv"));
  CHECK_THROWS_WITH(svdd::report_folders({dir.path()}, "", registry), Contains("not a run folder"));
  CHECK_THROWS_WITH(svdd::report_folders({out, out}, "", registry), Contains("--out"));
}

TEST_CASE("table1 over two run folders: rows, columns, bold best two, the paper's figures",
          "[unit][report]") {
  const auto data = svdd::test::needs_data({"svdd_paper/table1.csv"});
  if (!data) return;
  TempDir dir;
  const auto registry = core_registry();
  std::string first = kReported;
  first.replace(first.find("[sweep]"), std::string::npos,
                "[methods.best_of_n]\ntype = \"best_of_n\"\nn = 4\n\n"
                "[report]\npaper_table = \"rna_utr_mrl\"\npaper_methods = [\"svdd=svdd_pm\"]\n");
  first.replace(first.find("name = \"reported\""), 17, "name = \"first\"");
  std::string second = kReported;
  second.replace(second.find("name = \"reported\""), 17, "name = \"second\"");
  const auto a = run_folder(dir, "first", first, registry);
  const auto b = run_folder(dir, "second", second, registry);
  svdd::report_folders({a, b}, dir.path() / "both", registry);
  const std::string md = slurp(dir.path() / "both" / "table1.md");
  INFO(md);
  CHECK(md.find("## first") < md.find("## second"));
  const std::string block =
      md.substr(md.find("## first"), md.find("## second") - md.find("## first"));
  CHECK(block.find("| metric | pretrained | svdd_pm | smc | best_of_n |") != std::string::npos);
  for (const char* row : {"| reward median |", "| reward top-10% |", "| token_b median |",
                          "| token_b top-10% |", "| diversity |", "| denoiser rows per sample |",
                          "| paper: median | 0.406 | 1.214 | 0.76 | 0.912 |",
                          "| paper: top10 | 0.869 | 1.383 | 0.91 | 1.064 |"}) {
    INFO(row);
    CHECK(block.find(row) != std::string::npos);
  }
  CHECK(block.find("Li et al. 2024") != std::string::npos);
  // The best two of the reward median row are bold, no more (barring ties).
  const auto median_line = block.substr(block.find("| reward median |"));
  const std::string line = median_line.substr(0, median_line.find('\n'));
  const std::regex bold_cell(R"(\*\*[^*]+\*\*)");
  const auto bold = std::distance(std::sregex_iterator(line.begin(), line.end(), bold_cell),
                                  std::sregex_iterator());
  CHECK(bold >= 2);
  CHECK(line.find("**") != std::string::npos);
  // The second block has the sweep's runs as columns and no paper rows.
  CHECK(md.find("svdd_pm[candidates=8]") != std::string::npos);
  CHECK(md.substr(md.find("## second")).find("paper:") == std::string::npos);
  // table1.csv: a row per metric and run, the paper's figure beside ours.
  bool found = false;
  for (const auto& row : svdd::read_csv(dir.path() / "both" / "table1.csv")) {
    if (row.at("experiment") == "first" && row.at("metric") == "reward median" &&
        row.at("run") == "svdd_pm") {
      CHECK(row.at("paper_value") == "1.214");
      CHECK(!row.at("ci95_low").empty());
      found = true;
    }
  }
  CHECK(found);
  // A paper task the table does not hold is refused, naming it.
  std::string wrong = first;
  wrong.replace(wrong.find("rna_utr_mrl"), 11, "protein_fold");
  wrong.replace(wrong.find("name = \"first\""), 14, "name = \"wrong\"");
  const auto w = run_folder(dir, "wrong", wrong, registry);
  CHECK_THROWS_WITH(svdd::report_folders({w}, dir.path() / "w", registry),
                    Contains("protein_fold") && Contains("rna_utr_mrl"));
}

TEST_CASE("the report renders in headless Chromium with every figure shown", "[.browser]") {
  const char* chromium = "/usr/bin/chromium";
  if (!std::filesystem::exists(chromium)) {
    FAIL("needs Debian's chromium (.ci/install-deps installs it)");
  }
  TempDir dir;
  const auto registry = core_registry();
  const auto out = run_folder(dir, "reported", kReported, registry);
  const auto page = "file://" + std::filesystem::absolute(out / "report.html").string();
  const std::string flags =
      "--headless --no-sandbox --disable-gpu --allow-file-access-from-files --hide-scrollbars "
      "--virtual-time-budget=5000";
  const auto dom = dir.path() / "dom.html";
  REQUIRE(std::system(fmt::format("{} {} --dump-dom '{}' > '{}' 2>/dev/null", chromium, flags, page,
                                  dom.string())
                          .c_str()) == 0);
  const std::string dumped = slurp(dom);
  auto attribute = [&](const std::string& name) {
    const auto at = dumped.find(name + "=\"");
    return at == std::string::npos ? -1 : std::atoi(dumped.c_str() + at + name.size() + 2);
  };
  const int figures = attribute("data-figures"), shown = attribute("data-figures-shown");
  CHECK(figures >= 9);
  CHECK(figures == shown);
  const auto screenshot = dir.path() / "page.png";
  REQUIRE(std::system(fmt::format("cd '{}' && {} {} --window-size=1280,4000 --screenshot='{}' "
                                  "'{}' >/dev/null 2>&1",
                                  dir.path().string(), chromium, flags, screenshot.string(), page)
                          .c_str()) == 0);
  const svdd::PngImage png = svdd::decode_png(slurp(screenshot));
  // Not blank: many pixels far from the white page, in colour (the plots'
  // series), in the upper and the lower half (figures below the fold).
  size_t dark_top = 0, dark_bottom = 0, coloured = 0;
  for (int64_t y = 0; y < png.height; ++y) {
    for (int64_t x = 0; x < png.width; ++x) {
      const uint8_t* p = &png.pixels[(y * png.width + x) * png.channels];
      const int lo = std::min({p[0], p[1], p[2]}), hi = std::max({p[0], p[1], p[2]});
      if (hi < 160) (y < png.height / 2 ? dark_top : dark_bottom) += 1;
      coloured += hi - lo > 60;
    }
  }
  CHECK(dark_top > 2000);
  CHECK(dark_bottom > 2000);
  CHECK(coloured > 2000);
}
