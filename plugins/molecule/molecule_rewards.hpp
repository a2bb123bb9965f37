// Rewards computed by RDKit from a molecule's SMILES: drug-likeness (QED),
// synthetic accessibility (SA score), Crippen logP, penalized logP and a
// molecular-weight window. Each reads samples.decoded() (the domain's
// decoder writes one SMILES per sample, "" when decoding failed) and gives
// a documented value to an empty, unparsable or unsanitizable SMILES.
#pragma once

#include <GraphMol/ROMol.h>

#include "sa_score.hpp"
#include "svdd/registry.hpp"

namespace svdd::molecule {

// Registers molecule.qed, molecule.sa, molecule.logp,
// molecule.penalized_logp and molecule.mol_weight.
void register_molecule_rewards(Registry& registry);

// The size of the largest ring of RDKit's ring perception (symmetrized
// SSSR), 0 for an acyclic molecule.
int largest_ring_size(const RDKit::ROMol& molecule);

// Penalized logP as JT-VAE (Jin et al. 2018), GCPN and MolDQN optimise it:
// logP - SA - max(largest ring - 6, 0). With `normalized`, each term is
// first standardised by JT-VAE's ZINC250k means and deviations. The ring
// term uses RDKit's rings (as MolDQN does); JT-VAE and GCPN use networkx's
// cycle basis, which agrees except in some fused ring systems.
double penalized_logp(const RDKit::ROMol& molecule, const FragmentScores& fragments,
                      bool normalized);

// The molecular-weight window: 1 for weights in [low, high], falling
// linearly to 0 at `scale` Dalton below low or above high, 0 further out.
double weight_window(double weight, double low, double high, double scale);

}  // namespace svdd::molecule
