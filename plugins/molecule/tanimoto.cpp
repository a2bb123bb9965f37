#include "tanimoto.hpp"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <DataStructs/ExplicitBitVect.h>
#include <GraphMol/Fingerprints/MorganFingerprints.h>

#include <bit>
#include <memory>

#include "rdkit_support.hpp"

namespace svdd::molecule {

at::Tensor tanimoto_distances(const std::vector<std::string>& a,
                              const std::vector<std::string>& b) {
  const auto fa = morgan_fingerprints(a);
  const auto fb = morgan_fingerprints(b);
  const auto n = static_cast<int64_t>(a.size());
  const auto m = static_cast<int64_t>(b.size());
  at::Tensor out = at::empty({n, m}, at::dtype(at::kDouble));
  double* d = out.data_ptr<double>();
  // A pair is ~32 popcounts: rows in blocks keep each task worth its dispatch.
  at::parallel_for(0, n, 16, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      for (int64_t j = 0; j < m; ++j) {
        d[i * m + j] = fa[i] && fb[j] ? 1.0 - tanimoto_similarity(*fa[i], *fb[j]) : 1.0;
      }
    }
  });
  return out;
}

MorganFingerprint morgan_fingerprint(const RDKit::ROMol& molecule) {
  const std::unique_ptr<ExplicitBitVect> bits(
      RDKit::MorganFingerprints::getFingerprintAsBitVect(molecule, kMorganRadius, kMorganBits));
  std::vector<int> on;
  bits->getOnBits(on);
  MorganFingerprint words{};
  for (const int bit : on) words[bit / 64] |= uint64_t{1} << (bit % 64);
  return words;
}

std::optional<MorganFingerprint> morgan_fingerprint(const std::string& smiles) {
  try {
    const auto molecule = parse_smiles(smiles);
    if (!molecule) return std::nullopt;
    return morgan_fingerprint(*molecule);
  } catch (...) {
    // A molecule RDKit can not fingerprint counts as invalid, like one it
    // can not parse.
    return std::nullopt;
  }
}

std::vector<std::optional<MorganFingerprint>> morgan_fingerprints(
    const std::vector<std::string>& smiles) {
  std::vector<std::optional<MorganFingerprint>> out(smiles.size());
  // Parsing a molecule takes ~0.1 ms; each thread makes its own molecules.
  at::parallel_for(0, static_cast<int64_t>(smiles.size()), 8, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) out[i] = morgan_fingerprint(smiles[i]);
  });
  return out;
}

double tanimoto_similarity(const MorganFingerprint& a, const MorganFingerprint& b) {
  int both = 0, either = 0;
  for (size_t w = 0; w < a.size(); ++w) {
    both += std::popcount(a[w] & b[w]);
    either += std::popcount(a[w] | b[w]);
  }
  return either == 0 ? 1.0 : static_cast<double>(both) / either;
}

}  // namespace svdd::molecule
