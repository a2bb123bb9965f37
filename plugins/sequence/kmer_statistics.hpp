// k-mer frequency statistics of nucleotide sequences, the naturalness check
// of generated enhancers and UTRs: a model whose samples have the k-mer
// spectrum of real sequences reproduces their local composition (CpG
// depletion, GC content, common short motifs).
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>
#include <vector>

namespace svdd::sequence {

// Token rows [N, L] int64 (letters 0-3; a window holding any other id, e.g.
// the mask, is skipped) -> frequencies of the 4^k k-mers [4^k] float64,
// summing to 1 (all zero when no window counts).
at::Tensor kmer_frequencies(const at::Tensor& tokens, int64_t k);

// Strings over `letters` (4 characters; others break windows) -> the same.
at::Tensor kmer_frequencies(const std::vector<std::string>& sequences, const std::string& letters,
                            int64_t k);

// Pearson correlation of two vectors; NaN when either is constant.
double pearson(const at::Tensor& a, const at::Tensor& b);

}  // namespace svdd::sequence
