// SELFIES (Krenn et al. 2020, "Self-referencing embedded strings (SELFIES):
// a 100% robust molecular string representation"), version-2 grammar:
// every sequence of SELFIES tokens decodes to a valid molecule, because each
// atom's bonds are cut down to what its valence still allows and branch
// lengths and ring targets are read from the following tokens instead of
// from brackets and digits that could fail to match. A masked diffusion
// model over these tokens therefore samples valid molecules by construction.
//
// Tokens (each "[...]"):
//   atoms     [C] [=C] [#N] [Cl]: optional bond prefix (= double, # triple)
//             to the previous atom; a charge or explicit hydrogen count
//             writes the atom in full, [NH1+1] [O-1] [=N+1] [NH0]
//   branches  [Branch1] [=Branch2] [#Branch3]: a side chain with that bond
//             order, its length in the next 1..3 index tokens
//   rings     [Ring1] [=Ring2]: a ring bond back to an earlier atom, the
//             distance in the next 1..3 index tokens
//   [nop]     ignored: the padding token of fixed-length sequences
// Index tokens read as base-16 digits: [C]=0, [Ring1]=1, [Ring2]=2,
// [Branch1]=3, [=Branch1]=4, [#Branch1]=5, [Branch2]=6, [=Branch2]=7,
// [#Branch2]=8, [O]=9, [N]=10, [=N]=11, [=C]=12, [#C]=13, [S]=14, [P]=15,
// anything else 0.
//
// Molecules are written without stereochemistry and kekulized; the decoder
// returns a sanitized molecule whose aromaticity RDKit perceives again.
#pragma once

#include <GraphMol/RWMol.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace svdd::molecule {

inline constexpr const char* kPaddingToken = "[nop]";

// "[C][=O]" -> {"[C]", "[=O]"}; nullopt when the text is not a sequence of
// bracketed tokens.
std::optional<std::vector<std::string>> split_selfies(const std::string& text);

// The SELFIES tokens of a molecule (one connected fragment; stereochemistry
// dropped). nullopt when the molecule cannot be written: several fragments,
// an element or charge outside the grammar's valence table, or more bonds on
// an atom than that table allows (the decoder would cut them).
std::optional<std::vector<std::string>> encode_selfies(const RDKit::ROMol& molecule);
// Parses `smiles` with RDKit first; nullopt also for an invalid SMILES.
std::optional<std::vector<std::string>> smiles_to_selfies(const std::string& smiles);

// Any token sequence -> a sanitized molecule. Unknown tokens and [nop] are
// skipped. nullptr only when no atom was derived (an empty or all-padding
// sequence) or, as a safety net that the tests show unused, when RDKit
// refuses the result.
std::unique_ptr<RDKit::RWMol> decode_selfies(const std::vector<std::string>& tokens);
// The canonical SMILES of decode_selfies, "" when it gives no molecule.
std::string selfies_to_smiles(const std::vector<std::string>& tokens);

}  // namespace svdd::molecule
