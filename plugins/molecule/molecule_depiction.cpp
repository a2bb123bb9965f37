// RDKit 2-D depictions of SMILES (see molecule_depiction.hpp).
#include "molecule_depiction.hpp"

#include <GraphMol/MolDraw2D/MolDraw2DCairo.h>
#include <GraphMol/MolDraw2D/MolDraw2DUtils.h>

#include "rdkit_support.hpp"
#include "svdd/error.hpp"
#include "svdd/io/png_image.hpp"

namespace svdd::molecule {

std::optional<Picture> depict_smiles(const std::string& smiles) {
  std::unique_ptr<RDKit::RWMol> molecule = parse_smiles(smiles);
  if (!molecule || molecule->getNumAtoms() == 0) return std::nullopt;
  constexpr int kSize = 200;
  try {
    RDKit::MolDraw2DCairo drawer(kSize, kSize);
    // Coordinates from RDKit's depictor (prepareMolForDrawing computes them
    // when the molecule has none), kekulized and with wedges, as RDKit's
    // own pictures draw them.
    RDKit::MolDraw2DUtils::prepareAndDrawMolecule(drawer, *molecule);
    drawer.finishDrawing();
    return decode_png(drawer.getDrawingText(), "RDKit's drawing of " + smiles);
  } catch (const Error&) {
    throw;
  } catch (const std::exception&) {
    return std::nullopt;  // RDKit could not lay this molecule out
  }
}

}  // namespace svdd::molecule
