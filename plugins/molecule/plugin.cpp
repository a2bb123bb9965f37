// The molecule plugin: drug-like molecule design. A masked diffusion model
// over SELFIES tokens (valid molecules by construction), RDKit rewards (QED,
// SA score, logP, weight window), AutoDock Vina docking, and the metrics
// that judge a set of molecules (validity, uniqueness, novelty, diversity),
// and a value network for SVDD-MC.
#include "svdd/plugin.hpp"

#include "molecule_diffusion.hpp"
#include "molecule_domain.hpp"
#include "molecule_metrics.hpp"
#include "molecule_rewards.hpp"
#include "rdkit_support.hpp"
#include "selfies_transformer_value.hpp"
#include "vina_docking.hpp"

namespace {
void register_molecule(svdd::Registry& registry) {
  svdd::molecule::register_selfies_domain(registry);
  svdd::molecule::quiet_rdkit_logs();
  svdd::molecule::register_molecule_diffusion(registry);
  svdd::molecule::register_molecule_rewards(registry);
  svdd::molecule::register_molecule_metrics(registry);
  svdd::molecule::register_docking(registry);
  svdd::molecule::register_selfies_transformer_value(registry);
}
}  // namespace

SVDD_PLUGIN(register_molecule)
