// The RDKit helpers every molecule component relies on: bad input is a null
// molecule, never an exception.
#include "catch_torch.hpp"
#include "rdkit_support.hpp"

using namespace svdd::molecule;

TEST_CASE("parse_smiles returns null for empty, malformed and over-valent SMILES") {
  CHECK(parse_smiles("") == nullptr);
  CHECK(parse_smiles("C1CC") == nullptr);    // unclosed ring
  CHECK(parse_smiles("C(C") == nullptr);     // unclosed branch
  CHECK(parse_smiles("CF(C)C") == nullptr);  // fluorine with three bonds
  CHECK(parse_smiles("not a smiles") == nullptr);
  auto benzene = parse_smiles("c1ccccc1");
  REQUIRE(benzene != nullptr);
  CHECK(benzene->getNumAtoms() == 6);
}

TEST_CASE("canonical_smiles is one key per molecule and drops stereochemistry") {
  CHECK(canonical_smiles("OCC") == canonical_smiles("C(O)C"));
  CHECK(canonical_smiles("C1=CC=CC=C1") == "c1ccccc1");
  CHECK(canonical_smiles("C[C@H](N)O") == canonical_smiles("CC(N)O"));
  CHECK(canonical_smiles("C1CC").empty());
}
