#include "rdkit_support.hpp"

#include <GraphMol/SmilesParse/SmilesParse.h>
#include <GraphMol/SmilesParse/SmilesWrite.h>
#include <RDGeneral/RDLog.h>

#include <mutex>

namespace svdd::molecule {

void quiet_rdkit_logs() {
  static std::once_flag once;
  std::call_once(once, [] { boost::logging::disable_logs("rdApp.*"); });
}

std::unique_ptr<RDKit::RWMol> parse_smiles(const std::string& smiles) {
  quiet_rdkit_logs();
  if (smiles.empty()) return nullptr;
  try {
    return std::unique_ptr<RDKit::RWMol>(RDKit::SmilesToMol(smiles));
  } catch (...) {
    // SmilesToMol throws for some sanitization failures and returns null
    // for syntax errors; both mean "not a molecule" here.
    return nullptr;
  }
}

std::string canonical_smiles(const RDKit::ROMol& molecule) {
  try {
    return RDKit::MolToSmiles(molecule, /*doIsomericSmiles=*/false);
  } catch (...) {
    return "";
  }
}

std::string canonical_smiles(const std::string& smiles) {
  auto molecule = parse_smiles(smiles);
  return molecule ? canonical_smiles(*molecule) : "";
}

}  // namespace svdd::molecule
