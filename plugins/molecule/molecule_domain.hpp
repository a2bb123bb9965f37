// The domain of SELFIES token models: fixed-length rows of token ids
// [B, L] int64, padded with [nop] (id 0), the mask token last. A sample
// decodes to the canonical SMILES of its molecule ("" for none), and the
// distance between two samples is 1 - Tanimoto similarity of their Morgan
// fingerprints, so the summary's diversity column is chemical diversity.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "svdd/domain.hpp"
#include "svdd/params.hpp"
#include "svdd/registry.hpp"

namespace svdd::molecule {

inline constexpr const char* kSelfiesDomainName = "molecule.selfies";

// What a checkpoint models: [domain] on its card. `tokens` are the SELFIES
// tokens by id, tokens[0] == "[nop]"; the mask token comes after them.
struct SelfiesDomainCard {
  std::vector<std::string> tokens;
  int64_t length = 0;
  void visit(ParamVisitor& v);
};

Domain selfies_domain(const SelfiesDomainCard& card);

// Refuses (InputError) a domain whose samples cannot be molecules: molecules
// are decoded from tokens (SELFIES here, SMILES characters in a domain a user
// declares), so every molecule reward and metric needs a discrete domain.
void require_molecule_tokens(const Domain& domain, const std::string& component);

// The SMILES of token rows [B, L] int64 (any device) of `card`'s domain.
std::vector<std::string> decode_selfies_rows(const at::Tensor& rows, const SelfiesDomainCard& card);

// The domain "molecule.selfies" for a user's token model (torchscript_mdlm
// with domain = "molecule.selfies" and the module's tokens).
void register_selfies_domain(Registry& registry);

}  // namespace svdd::molecule
