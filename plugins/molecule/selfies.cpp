#include "selfies.hpp"

#include <GraphMol/MolOps.h>
#include <GraphMol/PeriodicTable.h>

#include <algorithm>
#include <array>
#include <functional>
#include <map>
#include <regex>
#include <string_view>

#include "rdkit_support.hpp"

namespace svdd::molecule {
namespace {

// ---- the valence table -------------------------------------------------------

struct Element {
  const char* symbol;
  int atomic_number;
  int capacity;  // most bonds (sum of orders, hydrogens included) RDKit accepts
};

// The elements of drug-like molecules. A charged atom bonds like the neutral
// element with the same number of electrons (N+ like C, O- like F, S+ like
// P), which is also how RDKit checks its valence.
constexpr std::array<Element, 12> kElements{{{"B", 5, 3},
                                             {"C", 6, 4},
                                             {"N", 7, 3},
                                             {"O", 8, 2},
                                             {"F", 9, 1},
                                             {"Si", 14, 4},
                                             {"P", 15, 5},
                                             {"S", 16, 6},
                                             {"Cl", 17, 1},
                                             {"Se", 34, 6},
                                             {"Br", 35, 1},
                                             {"I", 53, 1}}};

const Element* element_by_symbol(std::string_view symbol) {
  for (const auto& e : kElements)
    if (symbol == e.symbol) return &e;
  return nullptr;
}

const Element* element_by_number(int atomic_number) {
  for (const auto& e : kElements)
    if (e.atomic_number == atomic_number) return &e;
  return nullptr;
}

// Bond capacity of an element with a formal charge, or -1 when the table
// has no isoelectronic neutral element for it.
int bond_capacity(int atomic_number, int charge) {
  const Element* iso = element_by_number(atomic_number - charge);
  return iso ? iso->capacity : -1;
}

// ---- tokens ------------------------------------------------------------------

constexpr std::array<const char*, 16> kIndexTokens{
    "[C]",       "[Ring1]",    "[Ring2]",    "[Branch1]", "[=Branch1]", "[#Branch1]",
    "[Branch2]", "[=Branch2]", "[#Branch2]", "[O]",       "[N]",        "[=N]",
    "[=C]",      "[#C]",       "[S]",        "[P]"};

int index_value(const std::string& token) {
  for (size_t i = 0; i < kIndexTokens.size(); ++i)
    if (token == kIndexTokens[i]) return static_cast<int>(i);
  return 0;
}

const char* bond_prefix(int order) { return order == 2 ? "=" : order == 3 ? "#" : ""; }

struct Token {
  enum class Kind { skip, atom, branch, ring } kind = Kind::skip;
  int bond = 1;    // order the prefix asks for
  int digits = 0;  // branch and ring: index tokens that follow
  const Element* element = nullptr;
  bool bracket = false;  // explicit hydrogens and charge (no implicit H)
  int hydrogens = 0, charge = 0;
  int capacity = 0;  // bonds to other atoms the atom can make
};

Token parse_token(const std::string& text) {
  static const std::regex structure(R"(\[([=#]?)(Branch|Ring)([123])\])");
  static const std::regex atom(R"(\[([=#]?)([A-Z][a-z]?)(H(\d))?([+-]\d)?\])");
  Token token;
  std::smatch m;
  if (std::regex_match(text, m, structure)) {
    token.kind = m[2] == "Branch" ? Token::Kind::branch : Token::Kind::ring;
    token.bond = m[1] == "=" ? 2 : m[1] == "#" ? 3 : 1;
    token.digits = std::stoi(m[3]);
    return token;
  }
  if (!std::regex_match(text, m, atom)) return token;
  token.element = element_by_symbol(m[2].str());
  if (token.element == nullptr) return token;
  token.bond = m[1] == "=" ? 2 : m[1] == "#" ? 3 : 1;
  token.bracket = m[3].matched || m[5].matched;
  token.hydrogens = m[4].matched ? std::stoi(m[4]) : 0;
  token.charge = m[5].matched ? std::stoi(m[5]) : 0;
  const int capacity = bond_capacity(token.element->atomic_number, token.charge);
  if (capacity < 0) return token;
  token.capacity = std::max(0, capacity - token.hydrogens);
  token.kind = Token::Kind::atom;
  return token;
}

std::string atom_token(const RDKit::Atom& atom, int bond_to_previous, bool bracket) {
  std::string text = "[";
  text += bond_prefix(bond_to_previous);
  text += atom.getSymbol();
  if (bracket) {
    const int charge = atom.getFormalCharge();
    if (atom.getTotalNumHs() > 0 || charge == 0) text += "H" + std::to_string(atom.getTotalNumHs());
    if (charge != 0) text += (charge > 0 ? "+" : "-") + std::to_string(std::abs(charge));
  }
  return text + "]";
}

// Q as `digits` base-16 index tokens, most significant first.
std::vector<std::string> index_tokens(int q, int digits) {
  std::vector<std::string> out(digits);
  for (int i = digits - 1; i >= 0; --i, q /= 16) out[i] = kIndexTokens[q % 16];
  return out;
}

int digits_for(int q) { return q < 16 ? 1 : q < 256 ? 2 : 3; }

// ---- decoding ------------------------------------------------------------------

struct RingBond {
  int from, to, order;
};

class Decoder {
 public:
  explicit Decoder(const std::vector<std::string>& tokens) {
    tokens_.reserve(tokens.size());
    for (const auto& t : tokens) {
      tokens_.push_back(parse_token(t));
      index_.push_back(index_value(t));
    }
  }

  std::unique_ptr<RDKit::RWMol> run() {
    size_t pos = 0;
    derive(pos, tokens_.size(), -1, 0);
    if (molecule_->getNumAtoms() == 0) return nullptr;
    close_rings();
    try {
      RDKit::MolOps::sanitizeMol(*molecule_);
    } catch (...) {
      return nullptr;
    }
    return std::move(molecule_);
  }

 private:
  // Derives tokens [pos, end) hanging off atom `root` (-1: a new molecule)
  // whose remaining valence allows at most `state` more bond orders. Returns
  // the bond orders this derivation spent on `root` (a branch that starts
  // with another branch or a ring bonds to the same atom more than once).
  int derive(size_t& pos, size_t end, int root, int state) {
    int previous = root, spent_on_root = 0;
    while (pos < end) {
      if (previous >= 0 && state == 0) break;  // the last atom is saturated
      const Token& token = tokens_[pos++];
      const bool at_root = previous == root;
      switch (token.kind) {
        case Token::Kind::skip:
          break;
        case Token::Kind::atom: {
          if (previous < 0) {
            previous = add_atom(token);
            state = token.capacity;
            break;
          }
          // An atom that can bond to nothing would start a second fragment.
          if (token.capacity == 0) break;
          const int order = std::min({token.bond, token.capacity, state});
          const int atom = add_atom(token);
          add_bond(previous, atom, order);
          if (at_root) spent_on_root += order;
          previous = atom;
          state = token.capacity - order;
          break;
        }
        case Token::Kind::branch: {
          if (previous < 0 || state <= 1) break;
          const int q = read_index(pos, end, token.digits);
          const size_t branch_end = std::min(end, pos + q + 1);
          const int used = derive(pos, branch_end, previous, std::min(state - 1, token.bond));
          pos = branch_end;
          state -= used;
          if (at_root) spent_on_root += used;
          break;
        }
        case Token::Kind::ring: {
          if (previous < 0 || state == 0) break;
          const int q = read_index(pos, end, token.digits);
          const int order = std::min(token.bond, state);
          rings_.push_back({previous, std::max(0, previous - (q + 1)), order});
          state -= order;
          if (at_root) spent_on_root += order;
          break;
        }
      }
    }
    return spent_on_root;
  }

  int read_index(size_t& pos, size_t end, int digits) {
    int q = 0;
    for (int i = 0; i < digits && pos < end; ++i) q = q * 16 + index_[pos++];
    return q;
  }

  int add_atom(const Token& token) {
    auto* atom = new RDKit::Atom(token.element->atomic_number);
    atom->setFormalCharge(token.charge);
    if (token.bracket) {
      atom->setNumExplicitHs(token.hydrogens);
      atom->setNoImplicit(true);
    }
    capacity_.push_back(token.capacity);
    used_.push_back(0);
    return static_cast<int>(molecule_->addAtom(atom, /*updateLabel=*/false,
                                               /*takeOwnership=*/true));
  }

  static RDKit::Bond::BondType bond_type(int order) {
    return order == 3   ? RDKit::Bond::TRIPLE
           : order == 2 ? RDKit::Bond::DOUBLE
                        : RDKit::Bond::SINGLE;
  }

  void add_bond(int a, int b, int order) {
    if (order <= 0) return;
    molecule_->addBond(static_cast<unsigned>(a), static_cast<unsigned>(b), bond_type(order));
    used_[a] += order;
    used_[b] += order;
  }

  // Ring bonds are made after every atom exists, in the order they were
  // read, each cut to what both atoms still allow; a ring bond onto an
  // existing bond raises its order (at most triple).
  void close_rings() {
    for (const RingBond& ring : rings_) {
      if (ring.from == ring.to) continue;
      const int free =
          std::min(capacity_[ring.from] - used_[ring.from], capacity_[ring.to] - used_[ring.to]);
      RDKit::Bond* existing = molecule_->getBondBetweenAtoms(ring.from, ring.to);
      const int current = existing ? static_cast<int>(existing->getBondTypeAsDouble()) : 0;
      const int order = std::min({ring.order, free, 3 - current});
      if (order <= 0) continue;
      if (existing) {
        existing->setBondType(bond_type(current + order));
        used_[ring.from] += order;
        used_[ring.to] += order;
      } else {
        add_bond(ring.from, ring.to, order);
      }
    }
  }

  std::vector<Token> tokens_;
  std::vector<int> index_;
  std::unique_ptr<RDKit::RWMol> molecule_ = std::make_unique<RDKit::RWMol>();
  std::vector<int> capacity_, used_;
  std::vector<RingBond> rings_;
};

// ---- encoding ------------------------------------------------------------------

int bond_order(const RDKit::Bond& bond) {
  switch (bond.getBondType()) {
    case RDKit::Bond::SINGLE:
      return 1;
    case RDKit::Bond::DOUBLE:
      return 2;
    case RDKit::Bond::TRIPLE:
      return 3;
    default:
      return 0;  // aromatic after kekulization, dative, ...: not writable
  }
}

// Hydrogens RDKit gives a neutral atom written without brackets: up to its
// smallest allowed valence at or above the bonds it has.
int default_hydrogens(const RDKit::Atom& atom, int bonds) {
  const auto& valences = RDKit::PeriodicTable::getTable()->getValenceList(atom.getAtomicNum());
  for (int v : valences)
    if (v >= bonds) return v - bonds;
  return 0;
}

}  // namespace

std::optional<std::vector<std::string>> split_selfies(const std::string& text) {
  std::vector<std::string> tokens;
  size_t pos = 0;
  while (pos < text.size()) {
    if (text[pos] != '[') return std::nullopt;
    const size_t close = text.find(']', pos);
    if (close == std::string::npos) return std::nullopt;
    tokens.push_back(text.substr(pos, close - pos + 1));
    pos = close + 1;
  }
  return tokens;
}

std::optional<std::vector<std::string>> encode_selfies(const RDKit::ROMol& input) {
  RDKit::RWMol molecule(input);
  try {
    RDKit::MolOps::removeStereochemistry(molecule);
    RDKit::MolOps::Kekulize(molecule, /*markAtomsBonds=*/true);
  } catch (...) {
    return std::nullopt;
  }
  const int n = static_cast<int>(molecule.getNumAtoms());
  if (n == 0) return std::nullopt;
  std::vector<int> fragment_of;
  if (RDKit::MolOps::getMolFrags(molecule, fragment_of) != 1) return std::nullopt;

  // Every atom must be an element of the table whose bonds fit its capacity,
  // or the decoder would not give the molecule back.
  std::vector<int> bonds(n, 0);
  for (const RDKit::Bond* bond : molecule.bonds()) {
    const int order = bond_order(*bond);
    if (order == 0) return std::nullopt;
    bonds[bond->getBeginAtomIdx()] += order;
    bonds[bond->getEndAtomIdx()] += order;
  }
  std::vector<bool> bracket(n);
  for (const RDKit::Atom* atom : molecule.atoms()) {
    const int i = static_cast<int>(atom->getIdx());
    const int hydrogens = static_cast<int>(atom->getTotalNumHs());
    const int capacity = bond_capacity(atom->getAtomicNum(), atom->getFormalCharge());
    if (!element_by_number(atom->getAtomicNum()) || capacity < 0 || atom->getIsotope() != 0 ||
        atom->getNumRadicalElectrons() != 0 || hydrogens > 9) {
      return std::nullopt;
    }
    bracket[i] = atom->getFormalCharge() != 0 || hydrogens != default_hydrogens(*atom, bonds[i]);
    if (bonds[i] + (bracket[i] ? hydrogens : 0) > capacity) return std::nullopt;
  }

  // Depth-first tree from atom 0; neighbours in index order. The preorder is
  // the order in which the decoder creates atoms, which ring distances count.
  std::vector<int> position(n, -1), parent(n, -1);
  std::vector<std::vector<int>> children(n);
  int next = 0;
  bool too_long = false;  // a branch or ring distance over 16^3 tokens
  std::function<void(int)> visit = [&](int v) {
    position[v] = next++;
    std::vector<int> neighbours;
    for (const auto* bond : molecule.atomBonds(molecule.getAtomWithIdx(v))) {
      neighbours.push_back(static_cast<int>(bond->getOtherAtomIdx(v)));
    }
    std::sort(neighbours.begin(), neighbours.end());
    for (int w : neighbours) {
      if (position[w] >= 0) continue;
      parent[w] = v;
      children[v].push_back(w);
      visit(w);
    }
  };
  visit(0);

  // Bonds outside the tree close rings, written at their later atom.
  std::vector<std::vector<std::pair<int, int>>> closures(n);  // (earlier atom, order)
  for (const RDKit::Bond* bond : molecule.bonds()) {
    const int a = static_cast<int>(bond->getBeginAtomIdx());
    const int b = static_cast<int>(bond->getEndAtomIdx());
    if (parent[a] == b || parent[b] == a) continue;
    const auto [earlier, later] = position[a] < position[b] ? std::pair{a, b} : std::pair{b, a};
    closures[later].emplace_back(earlier, bond_order(*bond));
  }

  auto order_between = [&](int a, int b) {
    return bond_order(*molecule.getBondBetweenAtoms(a, b));
  };
  // The tokens of atom v and everything below it, v bonded to its parent.
  std::function<void(int, std::vector<std::string>&)> emit = [&](int v,
                                                                 std::vector<std::string>& out) {
    while (true) {
      const int to_parent = parent[v] >= 0 ? order_between(parent[v], v) : 1;
      out.push_back(atom_token(*molecule.getAtomWithIdx(v), to_parent, bracket[v]));
      for (const auto& [earlier, order] : closures[v]) {
        const int q = position[v] - position[earlier] - 1;
        too_long = too_long || q >= 4096;
        const int digits = digits_for(q);
        out.push_back(std::string("[") + bond_prefix(order) + "Ring" + std::to_string(digits) +
                      "]");
        for (auto& t : index_tokens(q, digits)) out.push_back(std::move(t));
      }
      const auto& kids = children[v];
      if (kids.empty()) return;
      for (size_t k = 0; k + 1 < kids.size(); ++k) {
        std::vector<std::string> branch;
        emit(kids[k], branch);
        const int q = static_cast<int>(branch.size()) - 1;
        too_long = too_long || q >= 4096;
        const int digits = digits_for(q);
        out.push_back(std::string("[") + bond_prefix(order_between(v, kids[k])) + "Branch" +
                      std::to_string(digits) + "]");
        for (auto& t : index_tokens(q, digits)) out.push_back(std::move(t));
        for (auto& t : branch) out.push_back(std::move(t));
      }
      v = kids.back();  // the main chain goes on without a branch
    }
  };
  std::vector<std::string> tokens;
  emit(0, tokens);
  if (too_long) return std::nullopt;
  return tokens;
}

std::optional<std::vector<std::string>> smiles_to_selfies(const std::string& smiles) {
  auto molecule = parse_smiles(smiles);
  if (!molecule) return std::nullopt;
  return encode_selfies(*molecule);
}

std::unique_ptr<RDKit::RWMol> decode_selfies(const std::vector<std::string>& tokens) {
  quiet_rdkit_logs();
  return Decoder(tokens).run();
}

std::string selfies_to_smiles(const std::vector<std::string>& tokens) {
  auto molecule = decode_selfies(tokens);
  return molecule ? canonical_smiles(*molecule) : "";
}

}  // namespace svdd::molecule
