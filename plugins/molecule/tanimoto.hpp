// Morgan fingerprints and Tanimoto similarity: the usual way to say how
// alike two molecules are (Rogers & Hahn 2010, ECFP4-like circular
// fingerprints; MOSES and GDSS use the same radius 2, 2048 bits). The
// molecule domain's `distance` hook and the internal-diversity metric are
// built on them.
#pragma once

#include <ATen/core/Tensor.h>
#include <GraphMol/ROMol.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace svdd::molecule {

// 1 - Tanimoto similarity of the Morgan fingerprints of every pair (a[i],
// b[j]) -> [a.size(), b.size()] float64 CPU, in [0, 1]. Each SMILES is
// fingerprinted once. An empty, unparsable or unsanitizable SMILES has
// distance 1 to everything, itself and other invalid strings included: an
// invalid sample is never a near neighbour, so it can not hide a lack of
// diversity.
at::Tensor tanimoto_distances(const std::vector<std::string>& a, const std::vector<std::string>& b);

inline constexpr unsigned kMorganRadius = 2;
inline constexpr unsigned kMorganBits = 2048;

// A Morgan fingerprint as RDKit's
// MorganFingerprints::getFingerprintAsBitVect(mol, 2, 2048) computes it
// (bond types used, chirality not; Python's
// AllChem.GetMorganFingerprintAsBitVect(mol, 2, nBits=2048)), packed into
// 64-bit words so a similarity is 32 popcounts.
using MorganFingerprint = std::array<uint64_t, kMorganBits / 64>;

MorganFingerprint morgan_fingerprint(const RDKit::ROMol& molecule);
// nullopt when the SMILES is invalid (see parse_smiles).
std::optional<MorganFingerprint> morgan_fingerprint(const std::string& smiles);
// One fingerprint per SMILES, computed in parallel.
std::vector<std::optional<MorganFingerprint>> morgan_fingerprints(
    const std::vector<std::string>& smiles);

// |a & b| / |a | b|; 1 when both are empty, as RDKit's TanimotoSimilarity.
double tanimoto_similarity(const MorganFingerprint& a, const MorganFingerprint& b);

}  // namespace svdd::molecule
