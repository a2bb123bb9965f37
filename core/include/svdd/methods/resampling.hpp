// Resampling for particle methods (SMC, FK steering, SVDD-R): ancestor
// indices from log-weights, within groups of consecutive particles that are
// never mixed (several conditions or prompts in one batch stay apart).
#pragma once

#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>

#include <array>
#include <cstdint>
#include <string>

#include "svdd/export.hpp"
#include "svdd/util/choices.hpp"

namespace svdd {

// Douc, Cappé and Moulines (2005), "Comparison of resampling schemes for
// particle filtering": all four are unbiased (expected copies N w_i);
// systematic, stratified and residual have lower variance than multinomial.
enum class ResamplingScheme { multinomial, systematic, stratified, residual };

// The schemes' names, as the `resampling` parameter of smc and fk_steering
// takes them.
inline constexpr std::array<Choice<ResamplingScheme>, 4> kResamplingSchemes{{
    {"multinomial", ResamplingScheme::multinomial},
    {"systematic", ResamplingScheme::systematic},
    {"stratified", ResamplingScheme::stratified},
    {"residual", ResamplingScheme::residual},
}};

// The scheme named `name`; throws InputError naming the known ones.
SVDD_API ResamplingScheme resampling_scheme(const std::string& name);

// log_weights [P] float64 (CPU), unnormalised; particles form the groups
// ParticleGroups(P, group_size) (consecutive rows, the last group may be
// shorter, group_size <= 0: one group). Returns ancestor indices [P] int64,
// each inside its own group, drawn with `generator`.
SVDD_API at::Tensor resample(const at::Tensor& log_weights, int64_t group_size,
                             ResamplingScheme scheme, at::Generator& generator);

// Effective sample size (sum w)^2 / sum w^2 of each group of
// ParticleGroups(P, group_size): [groups] float64.
SVDD_API at::Tensor effective_sample_size(const at::Tensor& log_weights, int64_t group_size);

}  // namespace svdd
