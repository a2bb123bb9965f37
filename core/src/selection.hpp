// Private: the selection rules methods share.
#pragma once

#include <ATen/ATen.h>

namespace svdd {

// For each row of values [G, M] picks one column: argmax when alpha == 0
// (ties: the first), else a draw from softmax(values / alpha) with
// `generator`. Returns [G] int64 CPU column indices.
inline at::Tensor soft_select(const at::Tensor& values, double alpha, at::Generator& generator) {
  if (alpha <= 0.0) return values.argmax(1);
  at::Tensor probs = (values / alpha).softmax(1);
  return at::multinomial(probs, 1, /*replacement=*/true, generator).squeeze(1);
}

// Row indices into a [G*M] grouped tensor for column choices [G].
inline at::Tensor group_rows(const at::Tensor& choice, int64_t per_group) {
  return at::arange(choice.size(0), choice.options()) * per_group + choice;
}

}  // namespace svdd
