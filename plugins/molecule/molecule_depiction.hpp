// Pictures of molecules for run folders and reports: RDKit's 2-D depiction
// (coordinates from RDKit's depictor, drawn by MolDraw2DCairo) of a sample's
// SMILES, the molecule domain's PictureFn.
#pragma once

#include <optional>
#include <string>

#include "svdd/domain.hpp"

namespace svdd::molecule {

// A 200 x 200 RGB drawing of `smiles`; nullopt for text RDKit cannot parse
// (an invalid sample is not drawn), never throws for a bad molecule.
std::optional<Picture> depict_smiles(const std::string& smiles);

}  // namespace svdd::molecule
