// SampleSetMetric: one figure about a whole set of samples, such as the
// correlation of their k-mer frequencies with real data, or the share of
// valid and unique molecules. Unlike a reward, which scores each sample, a
// metric needs every sample of a run at once; experiment files list them in
// [metrics.<name>] tables and summary.csv gets one column per metric.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "svdd/export.hpp"

namespace svdd {

// The distribution a metric compares against its reference (e.g. k-mer
// frequencies of the samples and of the data), for the report to draw:
// keys[i] is the name of entry i ("ACG"), samples[i] and reference[i] its
// share in the samples and in the reference; all three of one length.
struct Spectrum {
  std::string what;  // e.g. "3-mer frequency"
  std::vector<std::string> keys;
  std::vector<double> samples, reference;
};

class SVDD_API SampleSetMetric {
 public:
  virtual ~SampleSetMetric();
  // The decoded samples of one run (Domain::decode, as written to the
  // `sample` column of samples.csv), in output order -> one figure. NaN
  // when the figure is undefined for this set (too few samples, say);
  // throws InputError or RuntimeFailure only for a broken configuration.
  virtual double compute(const std::vector<std::string>& decoded) = 0;
  // Optional: the distribution behind the figure for these samples, drawn
  // by `svdd report` against its reference; nullopt (the default) when the
  // metric compares no distribution.
  virtual std::optional<Spectrum> spectrum(const std::vector<std::string>& decoded);
};

}  // namespace svdd
