// The few RDKit calls every part of the molecule plugin shares. RDKit
// reports a bad SMILES by throwing or by printing to stderr and returning
// null; here a bad molecule is always a null pointer and never a message, so
// a reward can give its documented invalid value without a crash or noise.
#pragma once

#include <GraphMol/RWMol.h>

#include <memory>
#include <string>

namespace svdd::molecule {

// Turns off RDKit's error and warning logs for the process (they would
// print one line per invalid sample). Called by the plugin's registration
// and by parse_smiles; safe to call repeatedly.
void quiet_rdkit_logs();

// A sanitized molecule from SMILES, or nullptr when the string is empty,
// does not parse or fails sanitization (a valence error, say). Never throws.
std::unique_ptr<RDKit::RWMol> parse_smiles(const std::string& smiles);

// RDKit's canonical SMILES without stereochemistry (the key of caches and of
// uniqueness and novelty). "" when the SMILES is invalid.
std::string canonical_smiles(const RDKit::ROMol& molecule);
std::string canonical_smiles(const std::string& smiles);

}  // namespace svdd::molecule
