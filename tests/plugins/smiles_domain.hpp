// Test support for the molecule plugin's rewards: a domain whose samples
// decode to given SMILES, so a reward can be scored on chosen molecules.
#pragma once

#include <ATen/ATen.h>

#include <string>
#include <vector>

#include "svdd/domain.hpp"

namespace svdd::test {

// Sample i (a [B, 1] tensor of indices) decodes to smiles[i].
inline Domain smiles_domain(std::vector<std::string> smiles) {
  Domain d;
  d.name = "test.smiles";
  d.kind = Domain::Kind::discrete;
  d.shape = {1};
  d.vocab_size = static_cast<int64_t>(smiles.size()) + 1;
  d.mask_id = d.vocab_size - 1;
  d.decoder = [smiles](const at::Tensor& x) {
    std::vector<std::string> out;
    for (int64_t i = 0; i < x.size(0); ++i) out.push_back(smiles.at(x[i][0].item<int64_t>()));
    return out;
  };
  return d;
}

}  // namespace svdd::test
