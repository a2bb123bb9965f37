// The metric contract: a finite figure on decoded samples, the same twice;
// an empty or invalid set gives a figure or NaN, never an exception; a
// domain the metric does not fit is refused.
#include <c10/core/InferenceMode.h>

#include <cmath>

#include "catch_torch.hpp"
#include "contract.hpp"
#include "svdd/error.hpp"
#include "svdd/sample_set_metric.hpp"

namespace svdd::contract {

void check_metric(const Workshop& workshop, const MetricCase& c) {
  INFO("metric table: " << c.table << "\ndomain " << c.domain.name);
  auto metric = workshop.metric(c.table, c.domain);
  REQUIRE(c.valid.defined());
  const std::vector<std::string> decoded = c.domain.decode(c.valid);
  c10::InferenceMode guard;

  const double figure = metric->compute(decoded);
  CHECK(std::isfinite(figure));
  CHECK(metric->compute(decoded) == figure);

  double empty = 0.0;
  REQUIRE_NOTHROW(empty = metric->compute({}));
  CHECK_FALSE(std::isinf(empty));

  // Invalid samples as the run decodes them: all-mask token strings (plus
  // "", what a token domain's failed decoding gives) or NaN samples.
  at::Tensor invalid = c.domain.discrete() ? at::full_like(c.valid, c.domain.mask_id)
                                           : at::full_like(c.valid, std::nan(""));
  std::vector<std::string> bad = c.domain.decode(invalid);
  if (c.domain.discrete()) bad.push_back("");
  double on_invalid = 0.0;
  REQUIRE_NOTHROW(on_invalid = metric->compute(bad));
  CHECK_FALSE(std::isinf(on_invalid));

  for (const Domain& wrong : c.wrong_domains) {
    INFO("a domain it must refuse: " << wrong.name);
    CHECK_THROWS_AS(workshop.metric(c.table, wrong), InputError);
  }
}

}  // namespace svdd::contract
