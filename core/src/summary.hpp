// Private: per-run statistics and the summary.csv / summary.md writers.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "svdd/decoding_loop.hpp"

namespace svdd {

struct RunResults {
  std::string method, run;
  std::vector<double> rewards;
  std::vector<std::pair<std::string, std::vector<double>>> evals;  // name -> per sample
  Cost cost;
  std::optional<double> target_distance;
};

double median(std::vector<double> values);
// Linear-interpolated quantile q in [0, 1] (numpy's default).
double quantile(std::vector<double> values, double q);

// Writes summary.csv and summary.md; returns the Markdown table.
std::string write_summary(const std::filesystem::path& dir, const std::vector<RunResults>& runs,
                          const std::string& notes);

}  // namespace svdd
