// The JPEG compressibility reward against two other encoders. The sizes in
// fixtures/image/jpeg_sizes.tsv were written by make_jpeg_reference.py (in
// the same folder) with Debian 12's python3-pil 9.4.0, calling
// Image.save(buffer, format="JPEG", quality=q) exactly as DDPO's and SVDD's
// reward does, and with cjpeg -quality q -baseline from libjpeg-turbo-progs
// 2.1.5; the two agree to the byte on every image. The images are the
// PGM/PPM files beside it (constant grey, a checkerboard, seeded noise, an
// RGB gradient of a size that is no multiple of the 16x16 MCU) and MNIST
// test digits 0 and 1 from the shared data folder.
//
// We expect identical sizes, not close ones: PIL and cjpeg drive the same
// libjpeg-turbo (Debian's libjpeg62-turbo) with the same settings we use
// (libjpeg defaults, quality scaling with force_baseline, the JFIF header
// libjpeg writes), and a JPEG's size is a deterministic function of the
// pixels and those settings. A changed default would show up here as a
// difference of a few bytes.
#include <fmt/format.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "catch_torch.hpp"
#include "digit_data.hpp"
#include "image_domain.hpp"
#include "jpeg_compressibility.hpp"
#include "needs_data.hpp"
#include "svdd/config/experiment.hpp"
#include "svdd/error.hpp"
#include "toy_fixture.hpp"

using Catch::Contains;
using Catch::WithinAbs;
namespace img = svdd::image;

namespace {

const std::filesystem::path kFixtures = SVDD_IMAGE_FIXTURES;

// A binary PGM (P5, grey) or PPM (P6, RGB) with maxval 255 and single-space
// or newline separated header fields, as make_jpeg_reference.py writes them.
svdd::PngImage read_pnm(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  REQUIRE(in);
  std::string magic;
  int64_t width = 0, height = 0, maxval = 0;
  in >> magic >> width >> height >> maxval;
  in.get();  // the one whitespace byte before the pixels
  REQUIRE((magic == "P5" || magic == "P6"));
  REQUIRE(maxval == 255);
  svdd::PngImage image{height, width, magic == "P5" ? 1 : 3, {}};
  image.pixels.resize(size_t(height * width * image.channels));
  in.read(reinterpret_cast<char*>(image.pixels.data()), std::streamsize(image.pixels.size()));
  REQUIRE(in.gcount() == std::streamsize(image.pixels.size()));
  return image;
}

// "mnist_t10k:R" is row R of the t10k digits (in the data folder), through
// the plugin's own reader and to_png_images, as a sampled digit would be
// scored; other names are fixtures.
const std::string kMnist = "mnist_t10k:";
bool from_mnist(const std::string& name) { return name.rfind(kMnist, 0) == 0; }
const std::string kMnistImages = "mnist_t10k/t10k-images-idx3-ubyte.gz";

svdd::PngImage load_image(const std::string& name, const std::filesystem::path& data = {}) {
  if (!from_mnist(name)) return read_pnm(kFixtures / name);
  REQUIRE_FALSE(data.empty());
  img::DigitDataParams params;
  params.first_row = std::stoll(name.substr(kMnist.size()));
  params.rows = 1;
  return img::to_png_images(img::load_digits(params, data).images).at(0);
}

struct Reference {
  std::string image;
  int quality = 0;
  int64_t bytes = 0;
};

std::vector<Reference> reference_sizes() {
  std::ifstream in(kFixtures / "jpeg_sizes.tsv");
  REQUIRE(in);
  std::vector<Reference> rows;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#' || line.rfind("image\t", 0) == 0) continue;
    std::istringstream fields(line);
    std::string image, quality, pil, cjpeg;
    std::getline(fields, image, '\t');
    std::getline(fields, quality, '\t');
    std::getline(fields, pil, '\t');
    std::getline(fields, cjpeg, '\t');
    INFO(line);
    REQUIRE(pil == cjpeg);  // the script refuses to write a disagreement
    rows.push_back({image, std::stoi(quality), std::stoll(pil)});
  }
  REQUIRE(rows.size() == 32);
  return rows;
}

svdd::Registry image_registry() {
  svdd::Registry registry;
  svdd::register_core_components(registry);
  img::register_jpeg_compressibility(registry);
  return registry;
}

// The reward an experiment's [reward] table builds; throws like a run would.
std::unique_ptr<svdd::RewardOracle> reward(const std::string& table, const svdd::Domain& domain) {
  const svdd::Registry registry = image_registry();
  svdd::test::TempDir dir;
  auto file = dir.write("e.toml", "[model]\ntype = \"toy.categorical\"\n[reward]\n" + table +
                                      "\n[methods.p]\ntype = \"pretrained\"\n");
  auto experiment = svdd::load_experiment(file, {}, registry);
  return registry.make<svdd::ComponentKind::reward>(experiment.runs[0].reward, svdd::BuildContext{},
                                                    domain);
}

std::unique_ptr<svdd::RewardOracle> jpeg_reward(int quality, const svdd::Domain& domain) {
  return reward(fmt::format("type = \"image.jpeg_compressibility\"\nquality = {}", quality),
                domain);
}

// The rewards of a batch of same-shaped images, through Samples.
std::vector<double> scores(svdd::RewardOracle& r, const std::vector<svdd::PngImage>& images) {
  const auto& first = images.front();
  const svdd::Domain domain = img::image_domain(first.channels, first.height, first.width);
  at::Tensor s = r.score(svdd::Samples(img::from_png_images(images), domain));
  REQUIRE(s.dtype() == at::kDouble);
  REQUIRE(s.sizes() == at::IntArrayRef({int64_t(images.size())}));
  s = s.contiguous();
  return {s.data_ptr<double>(), s.data_ptr<double>() + s.size(0)};
}

}  // namespace

// jpeg_sizes.tsv: PIL 9.4.0 Image.save(quality=q) and cjpeg 2.1.5 -quality q
// -baseline, identical to the byte; the rows of fixtures, or of MNIST digits.
static void check_reference_sizes(bool mnist, const std::filesystem::path& data = {}) {
  int rows = 0;
  for (const Reference& r : reference_sizes()) {
    if (from_mnist(r.image) != mnist) continue;
    ++rows;
    INFO(r.image << " at quality " << r.quality);
    const svdd::PngImage image = load_image(r.image, data);
    CHECK(img::jpeg_size(image, r.quality) == r.bytes);
    // The reward is -bytes / 1000 of the same picture, at the table's
    // quality, after the round trip through [-1, 1] floats.
    const auto domain = img::image_domain(image.channels, image.height, image.width);
    auto oracle = jpeg_reward(r.quality, domain);
    CHECK_FALSE(oracle->differentiable());
    CHECK_THAT(scores(*oracle, {image}).at(0), WithinAbs(-double(r.bytes) / 1000.0, 1e-12));
  }
  CHECK(rows > 0);
}

TEST_CASE("JPEG reward against sizes of known MNIST digits", "[plugins][image][jpeg][data]") {
  const auto data = svdd::test::needs_data({kMnistImages});
  if (!data) return;
  check_reference_sizes(true, *data);
}

TEST_CASE("JPEG reward against sizes of known images", "[plugins][image][jpeg]") {
  SECTION("jpeg_sizes.tsv: the fixtures, identical to the byte") { check_reference_sizes(false); }
  SECTION("the default quality is 95, PIL's setting in DDPO and SVDD") {
    const svdd::PngImage noise = read_pnm(kFixtures / "noise_grey_28x28.pgm");
    auto oracle = reward("type = \"image.jpeg_compressibility\"", img::image_domain(1, 28, 28));
    CHECK_THAT(scores(*oracle, {noise}).at(0), WithinAbs(-1.346, 1e-12));
  }
}

TEST_CASE("JPEG reward orders images as compressibility should", "[plugins][image][jpeg]") {
  const svdd::PngImage constant = read_pnm(kFixtures / "constant_grey_28x28.pgm");
  const svdd::PngImage checkerboard = read_pnm(kFixtures / "checkerboard_28x28.pgm");
  const svdd::PngImage noise = read_pnm(kFixtures / "noise_grey_28x28.pgm");
  const auto domain = img::image_domain(1, 28, 28);

  SECTION("noise scores lower (a larger file) than a checkerboard, and that lower than grey") {
    auto oracle = jpeg_reward(95, domain);
    const auto s = scores(*oracle, {constant, checkerboard, noise});
    CHECK(s[0] > s[1]);
    CHECK(s[1] > s[2]);
  }
  SECTION("a lower quality gives a smaller file") {
    double previous = -1e9;
    for (int quality : {100, 95, 75, 50, 10, 1}) {
      INFO("quality " << quality);
      const double s = scores(*jpeg_reward(quality, domain), {noise}).at(0);
      CHECK(s > previous);
      previous = s;
    }
  }
  SECTION("a batch scores each image on its own, in parallel") {
    std::vector<svdd::PngImage> batch;
    for (int i = 0; i < 40; ++i)
      batch.push_back(i % 3 == 0 ? noise : i % 3 == 1 ? constant : checkerboard);
    const auto s = scores(*jpeg_reward(95, domain), batch);
    for (int i = 0; i < 40; ++i) {
      CHECK(s[i] == -double(img::jpeg_size(batch[i], 95)) / 1000.0);
    }
  }
  SECTION("invalid_value is finite and below every image's score") {
    auto oracle = jpeg_reward(100, domain);
    CHECK(std::isfinite(oracle->invalid_value()));
    CHECK(oracle->invalid_value() < scores(*oracle, {noise}).at(0));
  }
}

TEST_CASE("JPEG reward refuses domains that are not images and bad qualities",
          "[plugins][image][jpeg]") {
  SECTION("domains that are not {C, H, W} with C 1 or 3") {
    svdd::Domain vector;
    vector.name = "toy.vector";
    vector.shape = {2};
    svdd::Domain two_channels = vector;
    two_channels.name = "two_channels";
    two_channels.shape = {2, 8, 8};
    svdd::Domain tokens = img::image_domain(1, 8, 8);
    tokens.name = "tokens";
    tokens.kind = svdd::Domain::Kind::discrete;
    for (const auto* domain : {&vector, &two_channels, &tokens}) {
      INFO(domain->name);
      CHECK_THROWS_AS(jpeg_reward(95, *domain), svdd::InputError);
      CHECK_THROWS_WITH(jpeg_reward(95, *domain),
                        Contains("image.jpeg_compressibility") && Contains(domain->name));
    }
  }
  SECTION("quality 0 or 101 is refused naming the key") {
    const auto domain = img::image_domain(3, 8, 8);
    for (int quality : {0, 101}) {
      INFO("quality " << quality);
      CHECK_THROWS_AS(jpeg_reward(quality, domain), svdd::InputError);
      CHECK_THROWS_WITH(jpeg_reward(quality, domain), Contains("[reward]") && Contains("quality") &&
                                                          Contains("between 1 and 100"));
    }
    CHECK_THROWS_WITH(reward("type = \"image.jpeg_compressibility\"\nqualty = 90", domain),
                      Contains("unknown key 'qualty'"));
    CHECK_THROWS_AS(img::jpeg_size(svdd::PngImage{1, 1, 1, {0}}, 0), svdd::InputError);
  }
  SECTION("an image wider than JPEG allows: the domain is refused, libjpeg's error is caught") {
    CHECK_THROWS_WITH(jpeg_reward(95, img::image_domain(1, 1, 70000)),
                      Contains("image.jpeg_compressibility") && Contains("65500"));
    // libjpeg's error_exit longjmps out of jpeg_start_compress; the process
    // goes on and the next image encodes.
    const svdd::PngImage wide{1, 70000, 1, std::vector<uint8_t>(70000, 128)};
    CHECK_THROWS_AS(img::jpeg_size(wide, 95), svdd::RuntimeFailure);
    CHECK_THROWS_WITH(img::jpeg_size(wide, 95), Contains("libjpeg") && Contains("65500"));
    CHECK(img::jpeg_size(read_pnm(kFixtures / "constant_grey_28x28.pgm"), 95) == 342);
  }
}
