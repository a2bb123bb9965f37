// A check every checkpoint loader makes: weights that hold NaN or infinity
// (a training that diverged, a damaged file) would sample nothing but NaN,
// and fail far from the file that caused it.
#pragma once

#include <ATen/core/Tensor.h>

#include <filesystem>
#include <vector>

#include "svdd/export.hpp"

namespace svdd {

// Throws InputError naming `checkpoint` and how many values of `weights`
// (any dtype, any device) are not finite; does nothing when all are.
SVDD_API void require_finite_weights(const std::vector<at::Tensor>& weights,
                                     const std::filesystem::path& checkpoint);

}  // namespace svdd
