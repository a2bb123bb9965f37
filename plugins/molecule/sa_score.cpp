#include "sa_score.hpp"

#include <GraphMol/Descriptors/Lipinski.h>
#include <GraphMol/Fingerprints/MorganFingerprints.h>
#include <GraphMol/MolOps.h>
#include <fmt/format.h>
#include <zlib.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <map>
#include <mutex>
#include <numeric>
#include <string>
#include <string_view>

#include "svdd/error.hpp"

namespace svdd::molecule {
namespace {

// The whole decompressed file; the table is ~15 MB of text, read in one go
// because gzgets line by line is several times slower.
std::string read_gzip(const std::filesystem::path& file) {
  gzFile in = gzopen(file.c_str(), "rb");
  if (in == nullptr) {
    throw InputError(fmt::format("SA score: cannot open the fragment table {}", file.string()));
  }
  gzbuffer(in, 1 << 20);
  std::string text;
  char buffer[1 << 16];
  int got = 0;
  while ((got = gzread(in, buffer, sizeof buffer)) > 0) text.append(buffer, got);
  const bool failed = got < 0;
  gzclose(in);
  if (failed) {
    throw InputError(fmt::format("SA score: {} is not a readable gzip file", file.string()));
  }
  return text;
}

// The number of stereocentres, assigned or not, as RDKit's legacy
// FindMolChiralCenters(includeUnassigned=True) finds them. That call
// re-assigns stereo flags, so it runs on a copy.
int chiral_centers(const RDKit::ROMol& molecule) {
  RDKit::ROMol copy(molecule);
  RDKit::MolOps::assignStereochemistry(copy, /*cleanIt=*/false, /*force=*/true,
                                       /*flagPossibleStereoCenters=*/true);
  int centers = 0;
  for (const RDKit::Atom* atom : copy.atoms()) {
    centers += atom->hasProp(RDKit::common_properties::_CIPCode) ||
               atom->hasProp(RDKit::common_properties::_ChiralityPossible);
  }
  return centers;
}

}  // namespace

std::shared_ptr<const FragmentScores> FragmentScores::load(const std::filesystem::path& tsv_gz) {
  static std::mutex mutex;
  static std::map<std::filesystem::path, std::shared_ptr<const FragmentScores>> cache;
  const std::lock_guard lock(mutex);
  auto& cached = cache[std::filesystem::absolute(tsv_gz).lexically_normal()];
  if (cached) return cached;

  const std::string text = read_gzip(tsv_gz);
  std::string_view rest(text);
  const auto line_break = rest.find('\n');
  if (rest.substr(0, line_break) != "fragment_id\tscore") {
    throw InputError(fmt::format(
        "SA score: {} does not start with the header 'fragment_id<TAB>score'", tsv_gz.string()));
  }
  rest.remove_prefix(line_break + 1);

  std::vector<std::pair<uint32_t, double>> rows;
  rows.reserve(720000);
  for (int64_t line = 2; !rest.empty(); ++line) {
    const char* end = rest.data() + rest.size();
    uint32_t id = 0;
    double score = 0;
    auto [after_id, id_error] = std::from_chars(rest.data(), end, id);
    const bool tab = id_error == std::errc() && after_id != end && *after_id == '\t';
    auto [after_score, score_error] =
        tab ? std::from_chars(after_id + 1, end, score) : std::from_chars_result{after_id, {}};
    if (!tab || score_error != std::errc() || (after_score != end && *after_score != '\n')) {
      throw InputError(
          fmt::format("SA score: {} line {}: expected '<id><TAB><score>'", tsv_gz.string(), line));
    }
    rows.emplace_back(id, score);
    rest.remove_prefix(std::min<size_t>(after_score - rest.data() + 1, rest.size()));
  }
  std::sort(rows.begin(), rows.end());

  auto table = std::make_shared<FragmentScores>();
  table->ids_.reserve(rows.size());
  table->scores_.reserve(rows.size());
  for (const auto& [id, score] : rows) {
    table->ids_.push_back(id);
    table->scores_.push_back(score);
  }
  cached = std::move(table);
  return cached;
}

double FragmentScores::operator[](uint32_t fragment_id) const {
  const auto it = std::lower_bound(ids_.begin(), ids_.end(), fragment_id);
  if (it == ids_.end() || *it != fragment_id) return -4.0;
  return scores_[it - ids_.begin()];
}

std::filesystem::path fragment_scores_path(const std::filesystem::path& data_dir) {
  return data_dir / "sa_score_fpscores" / "fpscores.tsv.gz";
}

double sa_score(const RDKit::ROMol& molecule, const FragmentScores& fragments) {
  // Fragment score: the mean contribution over the molecule's Morgan
  // environments (radius 2, counted with multiplicity).
  const std::unique_ptr<RDKit::SparseIntVect<uint32_t>> fingerprint(
      RDKit::MorganFingerprints::getFingerprint(molecule, 2));
  const auto& counts = fingerprint->getNonzeroElements();
  double fragment_score = 0.0;
  int64_t environments = 0;
  for (const auto& [id, count] : counts) {
    fragment_score += fragments[id] * count;
    environments += count;
  }
  fragment_score /= static_cast<double>(environments);

  // Complexity penalties (the paper's Eq. 2 with RDKit's macrocycle term).
  const double atoms = molecule.getNumAtoms();
  int macrocycles = 0;
  for (const auto& ring : molecule.getRingInfo()->atomRings()) macrocycles += ring.size() > 8;
  const double size_penalty = std::pow(atoms, 1.005) - atoms;
  const double stereo_penalty = std::log10(chiral_centers(molecule) + 1.0);
  const double spiro_penalty = std::log10(RDKit::Descriptors::calcNumSpiroAtoms(molecule) + 1.0);
  const double bridge_penalty =
      std::log10(RDKit::Descriptors::calcNumBridgeheadAtoms(molecule) + 1.0);
  const double macrocycle_penalty = macrocycles > 0 ? std::log10(2.0) : 0.0;
  const double complexity =
      -size_penalty - stereo_penalty - spiro_penalty - bridge_penalty - macrocycle_penalty;

  // Symmetric molecules have fewer distinct environments than atoms and are
  // easier to make than their size suggests.
  const double distinct = static_cast<double>(counts.size());
  const double symmetry = atoms > distinct ? 0.5 * std::log(atoms / distinct) : 0.0;

  // Map the raw score (about -4 .. 2.5, higher = easier) to 1 .. 10 and
  // flatten the hard end logarithmically above 8.
  const double raw = fragment_score + complexity + symmetry;
  constexpr double kLow = -4.0, kHigh = 2.5;
  double sa = 11.0 - (raw - kLow + 1.0) / (kHigh - kLow) * 9.0;
  if (sa > 8.0) sa = 8.0 + std::log(sa + 1.0 - 9.0);
  return std::clamp(sa, 1.0, 10.0);
}

}  // namespace svdd::molecule
