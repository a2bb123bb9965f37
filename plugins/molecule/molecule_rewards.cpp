#include "molecule_rewards.hpp"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <GraphMol/Descriptors/Crippen.h>
#include <GraphMol/Descriptors/MolDescriptors.h>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <string>
#include <utility>

#include "molecule_domain.hpp"
#include "qed.hpp"
#include "rdkit_support.hpp"
#include "svdd/error.hpp"

namespace svdd::molecule {
namespace {

// ---- one reward per molecule, in parallel ---------------------------------

// Scores each decoded SMILES on its own. Every RDKit object is made and
// used by one thread; the shared state (SMARTS patterns, fragment table) is
// only read. Anything that goes wrong for one molecule (parsing,
// sanitization, an RDKit exception, a non-finite value) gives the invalid
// value, so a run never stops on a bad sample.
class MoleculeReward final : public RewardOracle {
 public:
  using Value = std::function<double(const RDKit::ROMol&)>;
  MoleculeReward(Value value, double invalid) : value_(std::move(value)), invalid_(invalid) {}

  at::Tensor score(const Samples& samples) override {
    const std::vector<std::string>& smiles = samples.decoded();
    const auto n = static_cast<int64_t>(smiles.size());
    at::Tensor out = at::empty({n}, at::dtype(at::kDouble));
    double* values = out.data_ptr<double>();
    // A molecule takes ~0.1-1 ms; a few per task amortise the dispatch.
    at::parallel_for(0, n, 4, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) values[i] = score_one(smiles[i]);
    });
    return out;
  }
  double invalid_value() const override { return invalid_; }

 private:
  double score_one(const std::string& smiles) const noexcept {
    try {
      const auto molecule = parse_smiles(smiles);
      if (!molecule) return invalid_;
      const double value = value_(*molecule);
      return std::isfinite(value) ? value : invalid_;
    } catch (...) {
      return invalid_;
    }
  }

  Value value_;
  double invalid_;
};

// The fragment table of the SA score: the one the table names, else the
// data folder's.
std::shared_ptr<const FragmentScores> load_fragments(const FilePath& given,
                                                     const BuildContext& build,
                                                     const std::string& reward) {
  std::filesystem::path file = given.path;
  if (file.empty()) {
    if (build.data_dir.empty()) {
      throw InputError(fmt::format(
          "reward '{}': no data folder for the SA fragment table (set $SVDD_DATA_DIR or the "
          "reward's fragment_scores)",
          reward));
    }
    file = fragment_scores_path(build.data_dir);
  }
  return FragmentScores::load(file);
}

// ---- parameters -----------------------------------------------------------

struct QedParams {
  std::string weights = "mean";
  void visit(ParamVisitor& v) {
    v.field("weights", weights,
            "desirability weights of Bickerton et al.: \"mean\" (RDKit's qed()), \"max\" or "
            "\"none\" (unweighted)");
    v.require(weights == "mean" || weights == "max" || weights == "none", "weights",
              "must be \"mean\", \"max\" or \"none\"");
  }
  const QedWeights& table() const {
    return weights == "max"    ? kQedWeightsMax
           : weights == "none" ? kQedWeightsNone
                               : kQedWeightsMean;
  }
};

struct SaParams {
  std::string scale = "normalized";
  FilePath fragment_scores;
  void visit(ParamVisitor& v) {
    v.field("scale", scale,
            "\"normalized\": (10 - SA) / 9 in [0, 1], higher = easier to make; \"raw\": the SA "
            "score in [1, 10], lower = easier");
    v.require(scale == "normalized" || scale == "raw", "scale",
              "must be \"normalized\" or \"raw\"");
    v.field("fragment_scores", fragment_scores,
            "fragment table (gzip TSV); default: <data>/sa_score_fpscores/fpscores.tsv.gz");
  }
  bool raw() const { return scale == "raw"; }
};

struct LogpParams {
  double invalid_value = -10.0;
  void visit(ParamVisitor& v) {
    v.field("invalid_value", invalid_value, "the score of an invalid molecule");
  }
};

struct PenalizedLogpParams {
  bool normalized = false;
  double invalid_value = -100.0;
  FilePath fragment_scores;
  void visit(ParamVisitor& v) {
    v.field("normalized", normalized,
            "standardise logP, SA and the ring penalty by JT-VAE's ZINC250k statistics before "
            "summing (false: the plain GCPN/MolDQN sum)");
    v.field("invalid_value", invalid_value, "the score of an invalid molecule");
    v.field("fragment_scores", fragment_scores,
            "SA fragment table (gzip TSV); default: <data>/sa_score_fpscores/fpscores.tsv.gz");
  }
};

struct MolWeightParams {
  double low = 200.0;
  double high = 500.0;
  double scale = 100.0;
  void visit(ParamVisitor& v) {
    v.field("low", low, "lower end of the wanted window, Dalton");
    v.require(low >= 0.0, "low", "must be at least 0");
    v.field("high", high, "upper end of the wanted window, Dalton");
    v.require(high >= low, "high", "must be at least low");
    v.field("scale", scale, "Dalton outside the window over which the reward falls from 1 to 0");
    v.positive("scale", scale);
  }
};

// JT-VAE's statistics of logP, -SA and -ring penalty over ZINC250k
// (icml18-jtnn bo/gen_latent.py).
constexpr double kLogpMean = 2.4570953396190123, kLogpStd = 1.434324401111988;
constexpr double kSaMean = -3.0525811293166134, kSaStd = 0.8335207024513095;
constexpr double kCycleMean = -0.0485696876403053, kCycleStd = 0.2860212110245455;

}  // namespace

int largest_ring_size(const RDKit::ROMol& molecule) {
  size_t largest = 0;
  for (const auto& ring : molecule.getRingInfo()->atomRings())
    largest = std::max(largest, ring.size());
  return static_cast<int>(largest);
}

double penalized_logp(const RDKit::ROMol& molecule, const FragmentScores& fragments,
                      bool normalized) {
  const double logp = RDKit::Descriptors::calcClogP(molecule);
  const double sa = sa_score(molecule, fragments);
  const double ring = std::max(largest_ring_size(molecule) - 6, 0);
  if (!normalized) return logp - sa - ring;
  return (logp - kLogpMean) / kLogpStd + (-sa - kSaMean) / kSaStd +
         (-ring - kCycleMean) / kCycleStd;
}

double weight_window(double weight, double low, double high, double scale) {
  const double outside = std::max({low - weight, weight - high, 0.0});
  return std::max(0.0, 1.0 - outside / scale);
}

void register_molecule_rewards(Registry& registry) {
  registry.add<svdd::ComponentKind::reward, QedParams>(
      "molecule.qed",
      "QED drug-likeness in [0, 1] (Bickerton et al. 2012, as RDKit computes it); invalid "
      "molecule: 0",
      [](const QedParams& p, const BuildContext&, const Domain& d) {
        require_molecule_tokens(d, "molecule.qed");
        const QedWeights weights = p.table();
        return std::make_unique<MoleculeReward>(
            [weights](const RDKit::ROMol& m) { return qed(m, weights); }, 0.0);
      });
  registry.add<svdd::ComponentKind::reward, SaParams>(
      "molecule.sa",
      "synthetic accessibility (Ertl & Schuffenhauer 2009, RDKit Contrib): (10 - SA) / 9 in "
      "[0, 1], higher = easier, or the raw SA in [1, 10]; invalid molecule: 0 (raw: 10)",
      [](const SaParams& p, const BuildContext& b, const Domain& d) {
        require_molecule_tokens(d, "molecule.sa");
        auto fragments = load_fragments(p.fragment_scores, b, "molecule.sa");
        const bool raw = p.raw();
        return std::make_unique<MoleculeReward>(
            [fragments, raw](const RDKit::ROMol& m) {
              const double sa = sa_score(m, *fragments);
              return raw ? sa : (10.0 - sa) / 9.0;
            },
            raw ? 10.0 : 0.0);
      });
  registry.add<svdd::ComponentKind::reward, LogpParams>(
      "molecule.logp",
      "Wildman-Crippen logP (RDKit); invalid molecule: invalid_value (default -10)",
      [](const LogpParams& p, const BuildContext&, const Domain& d) {
        require_molecule_tokens(d, "molecule.logp");
        return std::make_unique<MoleculeReward>(
            [](const RDKit::ROMol& m) { return RDKit::Descriptors::calcClogP(m); },
            p.invalid_value);
      });
  registry.add<svdd::ComponentKind::reward, PenalizedLogpParams>(
      "molecule.penalized_logp",
      "logP - SA - max(largest ring - 6, 0) (JT-VAE/GCPN), optionally standardised by "
      "JT-VAE's ZINC250k statistics; invalid molecule: invalid_value (default -100)",
      [](const PenalizedLogpParams& p, const BuildContext& b, const Domain& d) {
        require_molecule_tokens(d, "molecule.penalized_logp");
        auto fragments = load_fragments(p.fragment_scores, b, "molecule.penalized_logp");
        const bool normalized = p.normalized;
        return std::make_unique<MoleculeReward>(
            [fragments, normalized](const RDKit::ROMol& m) {
              return penalized_logp(m, *fragments, normalized);
            },
            p.invalid_value);
      });
  registry.add<svdd::ComponentKind::reward, MolWeightParams>(
      "molecule.mol_weight",
      "molecular-weight window: 1 inside [low, high] Da, falling linearly to 0 over `scale` Da "
      "outside; invalid molecule: 0",
      [](const MolWeightParams& p, const BuildContext&, const Domain& d) {
        require_molecule_tokens(d, "molecule.mol_weight");
        return std::make_unique<MoleculeReward>(
            [p](const RDKit::ROMol& m) {
              return weight_window(RDKit::Descriptors::calcAMW(m), p.low, p.high, p.scale);
            },
            0.0);
      });
}

}  // namespace svdd::molecule
