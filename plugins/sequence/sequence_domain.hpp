// The token domain of DNA and RNA sequences: A, C, G, T (or U) and a mask
// token, and the strict conversion between strings and token ids.
#pragma once

#include <ATen/core/Tensor.h>

#include <string>
#include <vector>

#include "svdd/domain.hpp"
#include "svdd/registry.hpp"

namespace svdd::sequence {

enum class Alphabet { dna, rna };

// "dna" -> ACGT, "rna" -> ACGU; throws InputError otherwise.
Alphabet alphabet_from(const std::string& name);
// The four letters in token order: "ACGT" or "ACGU".
const std::string& letters(Alphabet alphabet);

// A discrete domain of `length` tokens: ids 0-3 the letters, 4 the mask
// (decoded as '_'). Named "sequence.dna" or "sequence.rna".
Domain sequence_domain(Alphabet alphabet, int64_t length);

// Strings -> token ids [N, length] int64. Every string must have exactly
// `length` letters of the alphabet (upper or lower case); otherwise throws
// InputError naming the sequence's index, its text and the position.
at::Tensor encode(const std::vector<std::string>& sequences, Alphabet alphabet, int64_t length);

// `s` in upper case, with T read as U for RNA: how sequences from outside
// (data tables, designs of other tools) are read. RNA tables often spell
// uracil as T (DNA reads of the library).
std::string normalised_letters(std::string s, Alphabet alphabet);

// The first position of `s` whose letter, in either case, is not one of
// `alphabet`'s; std::string::npos when every letter is.
size_t first_foreign_letter(const std::string& s, Alphabet alphabet);

// True when a domain's tokens 0-3 are the letters of a DNA or RNA alphabet
// (so sequence rewards can score it).
bool is_nucleotide_domain(const Domain& domain);

// The domains "sequence.dna" and "sequence.rna", for a user's token model
// (torchscript_mdlm with domain = "sequence.dna").
void register_sequence_domains(Registry& registry);

}  // namespace svdd::sequence
