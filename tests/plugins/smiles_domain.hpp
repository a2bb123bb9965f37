// Test support for the molecule plugin's rewards: a domain whose samples
// decode to given SMILES, so a reward can be scored on chosen molecules.
#pragma once

#include <ATen/ATen.h>

#include <string>
#include <vector>

#include "svdd/domain.hpp"

namespace svdd::test {

// Sample i (a [B, 1] tensor of indices) decodes to smiles[i]; the mask to "".
inline Domain smiles_domain(std::vector<std::string> smiles) {
  Domain d;
  d.name = "test.smiles";
  d.kind = Domain::Kind::discrete;
  d.shape = {1};
  d.vocab_size = static_cast<int64_t>(smiles.size()) + 1;
  d.mask_id = d.vocab_size - 1;
  d.decoder = [smiles](const at::Tensor& x) {
    std::vector<std::string> out;
    // The mask decodes to "", as the SELFIES domain's unfinished rows do.
    for (int64_t i = 0; i < x.size(0); ++i) {
      const auto id = static_cast<size_t>(x[i][0].item<int64_t>());
      out.push_back(id < smiles.size() ? smiles.at(id) : "");
    }
    return out;
  };
  return d;
}

}  // namespace svdd::test
