// Percentile-bootstrap intervals of quantiles (core/src/report/bootstrap.hpp):
// their coverage on a known distribution, that they shrink as the sample
// grows, and that they are reproducible.
#include <catch2/catch.hpp>
#include <cmath>
#include <random>

#include "report/bootstrap.hpp"

namespace {

std::vector<double> normal_sample(std::mt19937_64& rng, size_t n) {
  std::normal_distribution<double> normal(0.0, 1.0);
  std::vector<double> v(n);
  for (auto& x : v) x = normal(rng);
  return v;
}

}  // namespace

TEST_CASE("the bootstrap interval of the median covers the true median about 95% of the time",
          "[unit][statistics]") {
  // 500 normal samples of 101 values: the true median is 0. With 500
  // repetitions the coverage's standard error is sqrt(.95 * .05 / 500) =
  // 1%, so 92-98% is three of them either side.
  std::mt19937_64 rng(12345);
  int covered = 0;
  const int repetitions = 500;
  for (int i = 0; i < repetitions; ++i) {
    const auto sample = normal_sample(rng, 101);
    const auto ci = svdd::bootstrap_quantile_interval(sample, 0.5, uint64_t(i), 1000);
    covered += ci.low <= 0.0 && 0.0 <= ci.high;
  }
  const double coverage = double(covered) / repetitions;
  INFO("coverage " << coverage);
  CHECK(coverage >= 0.92);
  CHECK(coverage <= 0.98);
}

TEST_CASE("bootstrap intervals shrink as the sample grows, like 1 / sqrt(n)",
          "[unit][statistics]") {
  std::mt19937_64 rng(7);
  auto mean_width = [&](size_t n, double q) {
    double width = 0;
    for (int i = 0; i < 40; ++i) {
      const auto ci = svdd::bootstrap_quantile_interval(normal_sample(rng, n), q, uint64_t(i), 500);
      width += ci.high - ci.low;
    }
    return width / 40;
  };
  for (double q : {0.5, 0.9}) {
    INFO("q " << q);
    const double small = mean_width(100, q), large = mean_width(1600, q);
    // 16 times the data: a quarter of the width, within sampling noise.
    CHECK(large / small > 0.17);
    CHECK(large / small < 0.35);
    // The median's interval at n = 1600: 2 * 1.96 * sqrt(pi / 2) / 40 = 0.123.
    if (q == 0.5) CHECK(large == Approx(0.123).epsilon(0.15));
  }
}

TEST_CASE("bootstrap intervals are reproducible and bracket the estimate", "[unit][statistics]") {
  std::mt19937_64 rng(3);
  const auto sample = normal_sample(rng, 64);
  const auto a = svdd::bootstrap_quantile_intervals(sample, {0.5, 0.9}, 11);
  const auto b = svdd::bootstrap_quantile_intervals(sample, {0.5, 0.9}, 11);
  const auto c = svdd::bootstrap_quantile_intervals(sample, {0.5, 0.9}, 12);
  REQUIRE(a.size() == 2);
  CHECK(a[0].low == b[0].low);
  CHECK(a[1].high == b[1].high);
  CHECK((a[0].low != c[0].low || a[0].high != c[0].high));
  CHECK(a[0].low <= svdd::median(sample));
  CHECK(svdd::median(sample) <= a[0].high);
  CHECK(a[1].low <= svdd::quantile(sample, 0.9));
  CHECK(svdd::quantile(sample, 0.9) <= a[1].high);
  // The single-quantile form draws the same resamples.
  const auto one = svdd::bootstrap_quantile_interval(sample, 0.9, 11);
  CHECK(one.low == a[1].low);
  CHECK(one.high == a[1].high);
  // Degenerate samples.
  CHECK(std::isnan(svdd::bootstrap_quantile_interval({}, 0.5).low));
  const auto single = svdd::bootstrap_quantile_interval({2.5}, 0.5);
  CHECK(single.low == 2.5);
  CHECK(single.high == 2.5);
}

TEST_CASE("mean and sample standard deviation", "[unit][statistics]") {
  const auto s = svdd::mean_sd({1.0, 2.0, 4.0});
  CHECK(s.mean == Approx(7.0 / 3));
  CHECK(s.sd == Approx(std::sqrt(((1 - 7.0 / 3) * (1 - 7.0 / 3) + (2 - 7.0 / 3) * (2 - 7.0 / 3) +
                                  (4 - 7.0 / 3) * (4 - 7.0 / 3)) /
                                 2)));
  CHECK(svdd::mean_sd({5.0}).sd == 0.0);
}
