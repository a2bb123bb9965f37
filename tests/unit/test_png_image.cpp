// PNG pictures (svdd/png_image.hpp): encoding and decoding round trips, the
// colour types libpng converts for us (checked on PNGs built here with zlib,
// not libpng), data URIs, errors for bytes that are not a PNG, and the grid
// of samples a run draws through its domain (core/src/run/sample_grid.hpp).
#include <zlib.h>

#include <array>
#include <filesystem>
#include <fstream>

#include "catch_torch.hpp"
#include "run/sample_grid.hpp"
#include "svdd/error.hpp"
#include "svdd/io/png_image.hpp"

using Catch::Contains;
using svdd::PngImage;

namespace {

// How an image domain draws its samples, for `rows` runs.
std::vector<svdd::PictureFn> png(size_t rows) {
  return std::vector<svdd::PictureFn>(rows, svdd::picture_of_png_data_uri);
}
std::vector<svdd::PictureFn> png(const std::vector<std::vector<std::string>>& rows) {
  return png(rows.size());
}

// A deterministic image whose pixels all differ from their neighbours.
PngImage pattern(int64_t height, int64_t width, int64_t channels, int seed = 0) {
  PngImage image{height, width, channels, {}};
  for (int64_t i = 0; i < height * width * channels; ++i) {
    image.pixels.push_back(static_cast<uint8_t>((i * 37 + seed * 101 + 11) % 256));
  }
  return image;
}

bool same(const PngImage& a, const PngImage& b) {
  return a.height == b.height && a.width == b.width && a.channels == b.channels &&
         a.pixels == b.pixels;
}

// ---- PNG files written by hand (zlib only), for libpng's conversions ------

void put_u32(std::string& out, uint32_t value) {
  for (int shift : {24, 16, 8, 0}) out += static_cast<char>((value >> shift) & 0xff);
}

void put_chunk(std::string& out, const std::string& type, const std::string& data) {
  put_u32(out, static_cast<uint32_t>(data.size()));
  const std::string body = type + data;
  out += body;
  put_u32(out, static_cast<uint32_t>(
                   crc32(0, reinterpret_cast<const Bytef*>(body.data()), uInt(body.size()))));
}

// A non-interlaced PNG from its scanlines (each without the filter byte).
std::string hand_made_png(uint32_t width, uint32_t height, int bit_depth, int color_type,
                          const std::vector<std::string>& rows,
                          const std::vector<std::pair<std::string, std::string>>& extra = {}) {
  std::string out = "\x89PNG\r\n\x1a\n";
  std::string header;
  put_u32(header, width);
  put_u32(header, height);
  header += static_cast<char>(bit_depth);
  header += static_cast<char>(color_type);
  header += std::string(3, '\0');  // deflate, adaptive filtering, no interlace
  put_chunk(out, "IHDR", header);
  for (const auto& [type, data] : extra) put_chunk(out, type, data);
  std::string raw;
  for (const auto& row : rows) raw += '\0' + row;  // filter type 0 (none)
  uLongf size = compressBound(uLong(raw.size()));
  std::string compressed(size, '\0');
  REQUIRE(compress(reinterpret_cast<Bytef*>(compressed.data()), &size,
                   reinterpret_cast<const Bytef*>(raw.data()), uLong(raw.size())) == Z_OK);
  compressed.resize(size);
  put_chunk(out, "IDAT", compressed);
  put_chunk(out, "IEND", "");
  return out;
}

std::string bytes(std::initializer_list<int> values) {
  std::string out;
  for (int v : values) out += static_cast<char>(v);
  return out;
}

}  // namespace

TEST_CASE("PNG encoding and decoding round trip for grey and RGB images", "[png]") {
  const std::vector<std::array<int64_t, 3>> shapes{{1, 1, 1}, {1, 1, 3},   {5, 3, 1},  {5, 3, 3},
                                                   {3, 5, 3}, {28, 28, 1}, {17, 31, 3}};
  for (const auto& [h, w, c] : shapes) {
    INFO(h << "x" << w << "x" << c);
    const PngImage image = pattern(h, w, c);
    const std::string png = svdd::encode_png(image);
    CHECK(png.substr(1, 3) == "PNG");
    CHECK(same(svdd::decode_png(png), image));
  }
}

TEST_CASE("write_png and read_png round trip through a file", "[png]") {
  const auto file = std::filesystem::temp_directory_path() / "svdd_test_round_trip.png";
  const PngImage image = pattern(7, 4, 3, 5);
  svdd::write_png(file, image);
  CHECK(same(svdd::read_png(file), image));
  std::filesystem::remove(file);

  CHECK_THROWS_WITH(svdd::read_png("/no/such/dir/picture.png"),
                    Contains("/no/such/dir/picture.png"));
  CHECK_THROWS_AS(svdd::read_png("/no/such/dir/picture.png"), svdd::InputError);
  CHECK_THROWS_WITH(svdd::write_png("/no/such/dir/picture.png", image),
                    Contains("/no/such/dir/picture.png"));
}

TEST_CASE("PNG data URIs round trip and are recognised by their prefix", "[png]") {
  for (int64_t width : {1, 2, 3, 4, 5}) {  // every base64 padding length
    const PngImage image = pattern(2, width, 1, int(width));
    const std::string uri = svdd::png_data_uri(image);
    CHECK(uri.rfind("data:image/png;base64,", 0) == 0);
    CHECK(svdd::is_png_data_uri(uri));
    CHECK(same(svdd::decode_png_data_uri(uri), image));
  }
  CHECK_FALSE(svdd::is_png_data_uri("0.5;0.25"));
  CHECK_FALSE(svdd::is_png_data_uri("data:image/jpeg;base64,AAAA"));
  CHECK_THROWS_AS(svdd::decode_png_data_uri("ACGT"), svdd::InputError);
  CHECK_THROWS_WITH(svdd::decode_png_data_uri("data:image/png;base64,iVBO*w=="),
                    Contains("invalid base64"));
  CHECK_THROWS_WITH(svdd::decode_png_data_uri("data:image/png;base64,abc"),
                    Contains("multiple of 4"));
}

TEST_CASE("bytes that are not a whole PNG give InputError and no crash", "[png]") {
  CHECK_THROWS_WITH(svdd::decode_png("", "empty.png"),
                    Contains("empty.png") && Contains("not a PNG"));
  CHECK_THROWS_WITH(svdd::decode_png("GIF89a garbage bytes here"), Contains("not a PNG"));
  const std::string png = svdd::encode_png(pattern(9, 9, 3));
  SECTION("truncated after the signature, in the header and in the pixel data") {
    for (size_t keep : {size_t(8), size_t(20), png.size() / 2, png.size() - 13}) {
      INFO("first " << keep << " of " << png.size() << " bytes");
      CHECK_THROWS_AS(svdd::decode_png(png.substr(0, keep), "cut.png"), svdd::InputError);
      CHECK_THROWS_WITH(svdd::decode_png(png.substr(0, keep), "cut.png"), Contains("cut.png"));
    }
  }
  SECTION("a corrupted chunk (the IHDR checksum no longer matches)") {
    std::string broken = png;
    broken[20] = static_cast<char>(broken[20] ^ 0x40);
    CHECK_THROWS_AS(svdd::decode_png(broken), svdd::InputError);
  }
  SECTION("garbage after a valid signature") {
    CHECK_THROWS_AS(svdd::decode_png(png.substr(0, 8) + std::string(64, '\x5a')), svdd::InputError);
  }
}

TEST_CASE("encode_png refuses shapes that do not match the pixels", "[png]") {
  CHECK_THROWS_WITH(svdd::encode_png(PngImage{2, 2, 2, std::vector<uint8_t>(8)}),
                    Contains("1 (grey) or 3 (RGB)"));
  CHECK_THROWS_WITH(svdd::encode_png(PngImage{2, 2, 1, std::vector<uint8_t>(3)}),
                    Contains("needs 4 pixel values"));
  CHECK_THROWS_AS(svdd::encode_png(PngImage{0, 2, 1, {}}), svdd::InputError);
}

TEST_CASE("decode_png converts every PNG colour type to 8-bit grey or RGB", "[png]") {
  SECTION("1-bit grey expands to 0 and 255") {
    // Row 0: 1 0 1, row 1: 0 1 0 (bits from the most significant).
    const auto image = svdd::decode_png(hand_made_png(3, 2, 1, 0, {bytes({0xa0}), bytes({0x40})}));
    CHECK(image.channels == 1);
    CHECK(image.pixels == std::vector<uint8_t>{255, 0, 255, 0, 255, 0});
  }
  SECTION("16-bit grey with alpha keeps the high byte of grey, drops alpha") {
    const auto image = svdd::decode_png(
        hand_made_png(2, 1, 16, 4, {bytes({0x12, 0x34, 0, 0, 0xfe, 0xdc, 0xff, 0xff})}));
    CHECK(image.channels == 1);
    CHECK(image.pixels == std::vector<uint8_t>{0x12, 0xfe});
  }
  SECTION("RGBA drops alpha") {
    const auto image =
        svdd::decode_png(hand_made_png(2, 1, 8, 6, {bytes({1, 2, 3, 4, 250, 251, 252, 0})}));
    CHECK(image.channels == 3);
    CHECK(image.pixels == std::vector<uint8_t>{1, 2, 3, 250, 251, 252});
  }
  SECTION("a palette with transparency becomes RGB without alpha") {
    const std::string palette = bytes({10, 20, 30, 200, 100, 50});
    const std::string transparency = bytes({0});  // entry 0 fully transparent
    const auto image = svdd::decode_png(
        hand_made_png(3, 1, 8, 3, {bytes({1, 0, 1})}, {{"PLTE", palette}, {"tRNS", transparency}}));
    CHECK(image.channels == 3);
    CHECK(image.pixels == std::vector<uint8_t>{200, 100, 50, 10, 20, 30, 200, 100, 50});
  }
  SECTION("a 4-bit palette") {
    const std::string palette = bytes({0, 0, 0, 255, 255, 255});
    const auto image =
        svdd::decode_png(hand_made_png(2, 1, 4, 3, {bytes({0x10})}, {{"PLTE", palette}}));
    CHECK(image.pixels == std::vector<uint8_t>{255, 255, 255, 0, 0, 0});
  }
}

TEST_CASE("the sample grid puts run i sample j in row i column j", "[png][grid]") {
  // Three runs of 2x3 images; run r, sample s has every pixel 10 * r + s
  // (grey) so each cell is recognisable.
  auto cell = [](int value, int64_t channels) {
    return PngImage{2, 3, channels, std::vector<uint8_t>(size_t(2 * 3 * channels), uint8_t(value))};
  };
  std::vector<std::vector<std::string>> rows(3);
  for (int r = 0; r < 3; ++r) {
    for (int s = 0; s < 10 - r; ++s) rows[r].push_back(svdd::png_data_uri(cell(10 * r + s, 1)));
  }

  SECTION("grey cells, K = min(8, fewest samples) columns, 2-pixel grey gutter") {
    const auto grid = svdd::sample_grid(rows, png(rows), 8);
    REQUIRE(grid);
    CHECK(grid->channels == 1);
    CHECK(grid->height == 3 * (2 + 2) - 2);
    CHECK(grid->width == 8 * (3 + 2) - 2);
    auto at = [&](int64_t y, int64_t x) { return int(grid->pixels[y * grid->width + x]); };
    // Row 2, column 5 starts at y = 2 * 4 = 8, x = 5 * 5 = 25.
    CHECK(at(8, 25) == 25);
    CHECK(at(9, 27) == 25);
    CHECK(at(0, 0) == 0);
    CHECK(at(grid->height - 1, grid->width - 1) == 27);
    // The gutters: right of column 0 (x = 3, 4) and below row 0 (y = 2, 3).
    CHECK(at(0, 3) == svdd::kSampleGridGutterGrey);
    CHECK(at(0, 4) == svdd::kSampleGridGutterGrey);
    CHECK(at(2, 0) == svdd::kSampleGridGutterGrey);
    CHECK(at(3, 7) == svdd::kSampleGridGutterGrey);
  }
  SECTION("fewer samples than the limit: as many columns as the shortest run") {
    rows[1].resize(3);
    const auto grid = svdd::sample_grid(rows, png(rows), 8);
    REQUIRE(grid);
    CHECK(grid->width == 3 * (3 + 2) - 2);
  }
  SECTION("one RGB cell makes the grid RGB, grey cells repeated in each channel") {
    rows[0][1] = svdd::png_data_uri(PngImage{2, 3, 3, std::vector<uint8_t>(18, 7)});
    const auto grid = svdd::sample_grid(rows, png(rows), 4);
    REQUIRE(grid);
    CHECK(grid->channels == 3);
    const int64_t x = 2 * 5, y = 1 * 4;  // row 1, column 2: value 12
    for (int c = 0; c < 3; ++c) CHECK(int(grid->pixels[(y * grid->width + x) * 3 + c]) == 12);
    CHECK(int(grid->pixels[(0 * grid->width + 5) * 3 + 1]) == 7);
  }
  SECTION("no grid for samples that are not pictures of one size") {
    CHECK_FALSE(svdd::sample_grid({}, {}, 8));
    CHECK_FALSE(svdd::sample_grid({{"0.5;1.5", "0.1;0.2"}}, png(1), 8));
    CHECK_FALSE(
        svdd::sample_grid(rows, std::vector<svdd::PictureFn>(rows.size()), 8));  // no way to draw
    CHECK_FALSE(svdd::sample_grid({{"ACGT"}, {"TTTT"}}, png(2), 8));
    rows[2].push_back("ACGT");  // one non-picture anywhere in a run
    CHECK_FALSE(svdd::sample_grid(rows, png(rows), 8));
    rows[2].pop_back();
    rows[1][0] = svdd::png_data_uri(pattern(3, 3, 1));
    CHECK_FALSE(svdd::sample_grid(rows, png(rows), 8));
    rows[1].clear();
    CHECK_FALSE(svdd::sample_grid(rows, png(rows), 8));
  }
}

TEST_CASE("an image experiment's summary gets samples_grid.png and a section naming the runs",
          "[png][grid]") {
  const auto dir = std::filesystem::temp_directory_path() / "svdd_test_samples_grid";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const auto file = dir / "samples_grid.png";
  std::vector<std::vector<std::string>> rows(2);
  for (auto& row : rows) {
    for (int s = 0; s < 3; ++s) row.push_back(svdd::png_data_uri(pattern(4, 4, 1, s)));
  }

  const std::string section =
      svdd::write_samples_grid(dir, {"pretrained", "svdd_pm"}, rows, png(rows));
  CHECK(section ==
        "## Samples\n\n![samples](samples_grid.png)\n\nRows, top to bottom: pretrained, "
        "svdd_pm. Column j is sample j of each run.\n\n");
  const PngImage grid = svdd::read_png(file);
  CHECK(grid.height == 2 * 6 - 2);
  CHECK(grid.width == 3 * 6 - 2);
  CHECK_FALSE(std::filesystem::exists(dir / "samples_grid.png.tmp"));

  // Samples that are not pictures: no section, and no grid left from before.
  CHECK(svdd::write_samples_grid(dir, {"a"}, {{"0.5;0.5"}}, png(1)).empty());
  CHECK_FALSE(std::filesystem::exists(file));
  // A picture that does not decode costs the grid, not the summary.
  CHECK(svdd::write_samples_grid(dir, {"a"}, {{"data:image/png;base64,AAAA"}}, png(1)).empty());
  CHECK_FALSE(std::filesystem::exists(file));
  std::filesystem::remove_all(dir);
}
