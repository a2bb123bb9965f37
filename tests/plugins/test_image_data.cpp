// The image plugin's data and domain: MNIST's IDX files, the row split, the
// 14x14 pooling, and images decoding to PNG data URIs and back.
#include <fmt/format.h>

#include <filesystem>
#include <fstream>

#include "catch_torch.hpp"
#include "digit_data.hpp"
#include "image_domain.hpp"
#include "needs_data.hpp"
#include "svdd/config/experiment.hpp"
#include "svdd/error.hpp"

using namespace svdd::image;

// The MNIST files these tests read from the data folder.
const std::vector<std::string> kMnist = {"mnist_t10k/t10k-images-idx3-ubyte.gz",
                                         "mnist_t10k/t10k-labels-idx1-ubyte.gz"};

TEST_CASE("the MNIST t10k files load with their labels and documented statistics", "[data]") {
  const auto data = svdd::test::needs_data(kMnist);
  if (!data) return;
  const std::filesystem::path& data_dir = *data;
  DigitDataParams params;
  const DigitData all = load_digits(params, data_dir);
  CHECK(all.rows_in_file == 10000);
  REQUIRE(all.images.sizes() == at::IntArrayRef({10000, 1, 28, 28}));
  CHECK(all.images.min().item<float>() == -1.0f);
  CHECK(all.images.max().item<float>() == 1.0f);
  // SOURCE.md: mean pixel 33.79 of 255, and class counts 980 zeros, 1135 ones.
  const double mean_pixel = ((all.images.mean().item<double>() + 1) * 127.5);
  CHECK(mean_pixel == Approx(33.79).margin(0.01));
  CHECK(all.labels.eq(0).sum().item<int64_t>() == 980);
  CHECK(all.labels.eq(1).sum().item<int64_t>() == 1135);
  CHECK(all.images_sha1.size() == 40);

  params.first_row = 8000;
  params.rows = 100;
  params.size = 14;
  const DigitData part = load_digits(params, data_dir);
  REQUIRE(part.images.sizes() == at::IntArrayRef({100, 1, 14, 14}));
  CHECK(part.labels.equal(all.labels.slice(0, 8000, 8100)));
  CHECK(at::allclose(part.images, at::avg_pool2d(all.images.slice(0, 8000, 8100), {2, 2})));
}

TEST_CASE("digit data refuses a range past the end and a file that is not IDX", "[data]") {
  const auto data = svdd::test::needs_data(kMnist);
  if (!data) return;
  const std::filesystem::path& data_dir = *data;
  DigitDataParams params;
  params.first_row = 9990;
  params.rows = 20;
  CHECK_THROWS_WITH(load_digits(params, data_dir), Catch::Contains("rows [9990, 10010)"));

  const auto bogus = std::filesystem::temp_directory_path() / "svdd_not_idx.bin";
  std::ofstream(bogus) << "this is not an IDX file";
  params = DigitDataParams{};
  params.images = bogus.string();
  CHECK_THROWS_WITH(load_digits(params, data_dir),
                    Catch::Contains("svdd_not_idx.bin") && Catch::Contains("not an IDX file"));
  params.images = "mnist_t10k/no_such_file.gz";
  CHECK_THROWS_WITH(load_digits(params, data_dir), Catch::Contains("no such file"));
  std::filesystem::remove(bogus);
}

TEST_CASE("image samples decode to PNG data URIs that read back to the same pixels") {
  const svdd::Domain domain = image_domain(1, 28, 28);
  CHECK(domain.name == "image.1x28x28");
  CHECK(domain.shape == std::vector<int64_t>{1, 28, 28});
  at::manual_seed(3);
  at::Tensor x = at::rand({3, 1, 28, 28}) * 2 - 1;
  const auto decoded = domain.decode(x);
  REQUIRE(decoded.size() == 3);
  std::vector<svdd::PngImage> images;
  for (const auto& uri : decoded) {
    CHECK(svdd::is_png_data_uri(uri));
    images.push_back(svdd::decode_png_data_uri(uri));
  }
  // 8-bit quantisation: at most half a grey level (1/255 in [-1, 1]) apart.
  CHECK((from_png_images(images) - x).abs().max().item<double>() <= 1.0 / 255 + 1e-6);
  CHECK_THROWS_AS(image_domain(2, 28, 28), svdd::InputError);
}
