#include "molecule_domain.hpp"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include "molecule_data.hpp"
#include "molecule_depiction.hpp"
#include "selfies.hpp"
#include "svdd/error.hpp"
#include "tanimoto.hpp"

namespace svdd::molecule {

void SelfiesDomainCard::visit(ParamVisitor& v) {
  v.field("tokens", tokens, "SELFIES tokens by id; [nop] (padding) first, the mask after the last");
  v.require(!tokens.empty() && tokens[0] == kPaddingToken, "tokens", "must start with \"[nop]\"");
  v.field("length", length, "tokens per sample");
  v.at_least("length", length, 1);
}

std::vector<std::string> decode_selfies_rows(const at::Tensor& rows,
                                             const SelfiesDomainCard& card) {
  const at::Tensor x = rows.to(at::kCPU, at::kLong).contiguous();
  const int64_t n = x.size(0), length = x.size(1), vocab = static_cast<int64_t>(card.tokens.size());
  const int64_t* ids = x.data_ptr<int64_t>();
  std::vector<std::string> out(n);
  std::vector<std::string> tokens;
  for (int64_t i = 0; i < n; ++i) {
    tokens.clear();
    // Padding, and the mask of a row that is not fully denoised, add nothing.
    for (int64_t l = 0; l < length; ++l) {
      const int64_t id = ids[i * length + l];
      if (id > 0 && id < vocab) tokens.push_back(card.tokens[id]);
    }
    out[i] = selfies_to_smiles(tokens);
  }
  return out;
}

void require_molecule_tokens(const Domain& domain, const std::string& component) {
  if (!domain.discrete()) {
    throw InputError(fmt::format(
        "{} scores molecules decoded from tokens (a discrete domain); domain '{}' is continuous",
        component, domain.name));
  }
}

Domain selfies_domain(const SelfiesDomainCard& card) {
  Domain domain;
  domain.name = kSelfiesDomainName;
  domain.kind = Domain::Kind::discrete;
  domain.shape = {card.length};
  domain.alphabet = card.tokens;
  domain.alphabet.push_back("[MASK]");
  domain.vocab_size = static_cast<int64_t>(domain.alphabet.size());
  domain.mask_id = domain.vocab_size - 1;
  domain.decoder = [card](const at::Tensor& rows) { return decode_selfies_rows(rows, card); };
  // Designs made elsewhere: a SMILES, written as SELFIES in the model's own
  // tokens (as its training data was).
  domain.encoder = [card](const std::string& smiles) -> Encoded {
    if (!smiles_to_selfies(smiles)) {
      return {{}, "not a valid SMILES (RDKit cannot parse it, or SELFIES cannot write it)"};
    }
    const TokenTable table = tokenize({smiles}, card.tokens, card.length);
    if (table.dropped > 0 || table.tokens.size(0) != 1) {
      return {{},
              fmt::format("its SELFIES needs more than the model's {} tokens, or a token "
                          "its vocabulary does not have",
                          card.length)};
    }
    return {table.tokens[0].clone(), ""};
  };
  // Samples decode to SMILES: drawn by RDKit for the sample grid and reports.
  domain.picture = depict_smiles;
  domain.distance = [card](const at::Tensor& a, const at::Tensor& b) {
    return tanimoto_distances(decode_selfies_rows(a, card), decode_selfies_rows(b, card));
  };
  return domain;
}

namespace {

// The SELFIES domain for a user's own token model (torchscript_mdlm with
// domain = "molecule.selfies" and the module's tokens): samples decode to
// canonical SMILES, so every molecule reward and metric applies.
Domain named_selfies_domain(const DomainRequest& request) {
  if (request.shape.size() != 1) {
    throw InputError("SELFIES rows have the shape [length]; give the model's length");
  }
  if (request.tokens.empty() || request.tokens[0] != kPaddingToken) {
    throw InputError(fmt::format(
        "give the module's SELFIES tokens by id in tokens = [...], \"{}\" (padding) first and "
        "the mask left out (it comes after them)",
        kPaddingToken));
  }
  return selfies_domain({request.tokens, request.shape[0]});
}

}  // namespace

void register_selfies_domain(Registry& registry) {
  registry.add_domain(kSelfiesDomainName,
                      "SELFIES tokens (the module's own list, [nop] first, the mask after "
                      "them), decoded to canonical SMILES",
                      named_selfies_domain);
}

}  // namespace svdd::molecule
