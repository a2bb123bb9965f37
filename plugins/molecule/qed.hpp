// QED, the quantitative estimate of drug-likeness: Bickerton, Paolini,
// Besnard, Muresan & Hopkins, "Quantifying the chemical beauty of drugs",
// Nature Chemistry 4, 90-98 (2012), as RDKit's Python module rdkit.Chem.QED
// (descriptor version 1.1.0) computes it. Eight properties are each mapped
// through an asymmetric double sigmoid (ADS, the paper's Eq. 1) to a
// desirability in (0, 1]; QED is their weighted geometric mean (Eq. 3).
// The property calculators are RDKit's (Crippen logP, TPSA, ...), so values
// match RDKit's QED, not the original Pipeline Pilot numbers of the paper.
#pragma once

#include <GraphMol/ROMol.h>

#include <array>

namespace svdd::molecule {

// The eight QED properties of a molecule, in the paper's order.
struct QedProperties {
  double mw = 0;      // molecular weight (average, with implicit Hs), Da
  double alogp = 0;   // Wildman-Crippen logP
  double hba = 0;     // hydrogen-bond acceptors (QED's own SMARTS, all matches)
  double hbd = 0;     // hydrogen-bond donors (RDKit's Lipinski HBD)
  double psa = 0;     // topological polar surface area (N and O only)
  double rotb = 0;    // rotatable bonds, RDKit's strict definition
  double arom = 0;    // SSSR rings left after deleting aliphatic ring atoms
  double alerts = 0;  // structural alerts matched (each alert counts once)
};

// Weights of the eight desirabilities, in QedProperties' order. The paper's
// "mean" weights are the default of RDKit's qed() and of this port.
using QedWeights = std::array<double, 8>;
inline constexpr QedWeights kQedWeightsMean = {0.66, 0.46, 0.05, 0.61, 0.06, 0.65, 0.48, 0.95};
inline constexpr QedWeights kQedWeightsMax = {0.50, 0.25, 0.00, 0.50, 0.00, 0.50, 0.25, 1.00};
inline constexpr QedWeights kQedWeightsNone = {1, 1, 1, 1, 1, 1, 1, 1};

// The properties of a sanitized molecule (explicit hydrogens are removed on
// a copy first). May throw what RDKit throws; callers catch.
QedProperties qed_properties(const RDKit::ROMol& molecule);

// QED in (0, 1] from properties or from a sanitized molecule.
double qed(const QedProperties& properties, const QedWeights& weights = kQedWeightsMean);
double qed(const RDKit::ROMol& molecule, const QedWeights& weights = kQedWeightsMean);

}  // namespace svdd::molecule
