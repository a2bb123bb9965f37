// Fuzzes the molecule plugin's SELFIES reader: split_selfies on any text,
// decode_selfies on its tokens (RDKit builds and sanitizes the molecule),
// and encode_selfies on what was decoded.
//
// Input: the text of a SELFIES string ("[C][=C][Ring1]...").
//
// A finding: a crash, sanitizer report, hang, memory blow-up, any exception
// escaping (these functions promise none: invalid text is nullopt, no atom
// is nullptr), or a decoded molecule whose own SELFIES encoding, when it
// has one, decodes to another molecule.
#include <string>

#include "fuzz_input.hpp"
#include "rdkit_support.hpp"
#include "selfies.hpp"

namespace molecule = svdd::molecule;

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  molecule::quiet_rdkit_logs();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(svdd::fuzz::bytes_of(data, size));
  const auto tokens = molecule::split_selfies(text);
  if (!tokens) return 0;
  const auto decoded = molecule::decode_selfies(*tokens);
  if (!decoded) return 0;
  const std::string smiles = molecule::canonical_smiles(*decoded);
  svdd::fuzz::check_that(!smiles.empty(), "a decoded molecule has a SMILES");
  if (const auto encoded = molecule::encode_selfies(*decoded)) {
    svdd::fuzz::check_that(molecule::selfies_to_smiles(*encoded) == smiles,
                           "a decoded molecule's own SELFIES decodes to the same molecule");
  }
  return 0;
}
