#include "sequence_domain.hpp"

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cctype>

#include "svdd/error.hpp"

namespace svdd::sequence {

Alphabet alphabet_from(const std::string& name) {
  if (name == "dna") return Alphabet::dna;
  if (name == "rna") return Alphabet::rna;
  throw InputError(fmt::format("alphabet: '{}' is neither \"dna\" nor \"rna\"", name));
}

const std::string& letters(Alphabet alphabet) {
  static const std::string dna = "ACGT", rna = "ACGU";
  return alphabet == Alphabet::dna ? dna : rna;
}

Domain sequence_domain(Alphabet alphabet, int64_t length) {
  if (length < 1) throw InputError(fmt::format("length: must be at least 1, got {}", length));
  Domain d;
  d.name = alphabet == Alphabet::dna ? "sequence.dna" : "sequence.rna";
  d.kind = Domain::Kind::discrete;
  d.shape = {length};
  d.vocab_size = 5;
  d.mask_id = 4;
  for (char c : letters(alphabet)) d.alphabet.emplace_back(1, c);
  d.alphabet.emplace_back("_");
  // Designs made elsewhere, read as data tables are.
  d.encoder = [alphabet, length](const std::string& text) -> Encoded {
    const std::string s = normalised_letters(text, alphabet);
    if (static_cast<int64_t>(s.size()) != length) {
      return {{}, fmt::format("{} letters, the model makes {}", s.size(), length)};
    }
    if (const size_t at = first_foreign_letter(s, alphabet); at != std::string::npos) {
      return {
          {},
          fmt::format("position {}: '{}' is not one of {}", at + 1, text[at], letters(alphabet))};
    }
    return {encode({s}, alphabet, length)[0], ""};
  };
  return d;
}

std::string normalised_letters(std::string s, Alphabet alphabet) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (alphabet == Alphabet::rna) std::replace(s.begin(), s.end(), 'T', 'U');
  return s;
}

size_t first_foreign_letter(const std::string& s, Alphabet alphabet) {
  const std::string& abc = letters(alphabet);
  for (size_t j = 0; j < s.size(); ++j) {
    if (abc.find(static_cast<char>(std::toupper(static_cast<unsigned char>(s[j])))) ==
        std::string::npos) {
      return j;
    }
  }
  return std::string::npos;
}

at::Tensor encode(const std::vector<std::string>& sequences, Alphabet alphabet, int64_t length) {
  const std::string& abc = letters(alphabet);
  at::Tensor out = at::empty({static_cast<int64_t>(sequences.size()), length}, at::kLong);
  auto a = out.accessor<int64_t, 2>();
  for (size_t i = 0; i < sequences.size(); ++i) {
    const std::string& s = sequences[i];
    const std::string shown = s.size() > 60 ? s.substr(0, 57) + "..." : s;
    if (static_cast<int64_t>(s.size()) != length) {
      throw InputError(fmt::format("sequence {} ('{}') has {} letters, expected {}", i, shown,
                                   s.size(), length));
    }
    for (int64_t j = 0; j < length; ++j) {
      const auto at = abc.find(static_cast<char>(std::toupper(static_cast<unsigned char>(s[j]))));
      if (at == std::string::npos) {
        throw InputError(fmt::format("sequence {} ('{}'), position {}: '{}' is not one of {}", i,
                                     shown, j + 1, s[j], abc));
      }
      a[i][j] = static_cast<int64_t>(at);
    }
  }
  return out;
}

namespace {

// The DNA and RNA domains for a user's own token model (torchscript_mdlm
// with domain = "sequence.dna"): its tokens must be the letters in this
// order, the mask after them, so that the plugin's rewards and oracles read
// its samples as they read the plugin's own.
Domain nucleotide_domain(Alphabet alphabet, const DomainRequest& request) {
  const std::string& wanted = letters(alphabet);
  if (request.shape.size() != 1) {
    throw InputError("sequences have the shape [length]; give the model's length");
  }
  if (!request.tokens.empty()) {
    std::string given;
    for (const auto& token : request.tokens) given += token;
    if (request.tokens.size() != wanted.size() || given != wanted) {
      throw InputError(fmt::format(
          "the module's tokens must be {} in this order (the mask after them), got [{}]", wanted,
          fmt::join(request.tokens, ", ")));
    }
  }
  return sequence_domain(alphabet, request.shape[0]);
}

}  // namespace

void register_sequence_domains(Registry& registry) {
  registry.add_domain("sequence.dna", "DNA: tokens A, C, G, T (ids 0-3), the mask id 4",
                      [](const DomainRequest& r) { return nucleotide_domain(Alphabet::dna, r); });
  registry.add_domain("sequence.rna", "RNA: tokens A, C, G, U (ids 0-3), the mask id 4",
                      [](const DomainRequest& r) { return nucleotide_domain(Alphabet::rna, r); });
}

bool is_nucleotide_domain(const Domain& domain) {
  if (!domain.discrete() || domain.alphabet.size() < 4) return false;
  std::string first;
  for (int i = 0; i < 4; ++i) first += domain.alphabet[i];
  return first == "ACGT" || first == "ACGU";
}

}  // namespace svdd::sequence
