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

// SVDD's per-sample step (Li et al. 2024, Algorithm 1, line 5): values of
// the children [P*M] grouped row-major by parent -> for every parent the
// index of its chosen child [P].
inline at::Tensor choose_per_parent(const at::Tensor& values, int64_t per_parent, double alpha,
                                    at::Generator& generator) {
  return group_rows(soft_select(values.view({-1, per_parent}), alpha, generator), per_parent);
}

}  // namespace svdd
