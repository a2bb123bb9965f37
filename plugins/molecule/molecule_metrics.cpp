#include "molecule_metrics.hpp"

#include <ATen/Parallel.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <chrono>
#include <cmath>
#include <functional>
#include <memory>
#include <set>
#include <utility>

#include "molecule_domain.hpp"
#include "rdkit_support.hpp"
#include "svdd/config/experiment.hpp"
#include "svdd/error.hpp"
#include "svdd/io/table_file.hpp"
#include "svdd/util/clock.hpp"
#include "svdd/util/log.hpp"
#include "tanimoto.hpp"

namespace svdd::molecule {
namespace {

// Canonical SMILES of each string, "" for an invalid one, in parallel.
// Parsing takes ~0.1 ms per molecule and each thread makes its own.
std::vector<std::string> canonical_all(const std::vector<std::string>& smiles) {
  std::vector<std::string> out(smiles.size());
  at::parallel_for(0, static_cast<int64_t>(smiles.size()), 8, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) out[i] = canonical_smiles(smiles[i]);
  });
  return out;
}

std::unordered_set<std::string> distinct_valid(const std::vector<std::string>& canonical) {
  std::unordered_set<std::string> out;
  for (const auto& c : canonical) {
    if (!c.empty()) out.insert(c);
  }
  return out;
}

int64_t count_valid(const std::vector<std::string>& canonical) {
  int64_t valid = 0;
  for (const auto& c : canonical) valid += !c.empty();
  return valid;
}

// A metric that is one function of the decoded samples.
class FunctionMetric final : public SampleSetMetric {
 public:
  using Function = std::function<double(const std::vector<std::string>&)>;
  explicit FunctionMetric(Function f) : f_(std::move(f)) {}
  double compute(const std::vector<std::string>& decoded) override { return f_(decoded); }

 private:
  Function f_;
};

struct NoParams {
  void visit(ParamVisitor&) {}
};

// The rows of `table` whose split column holds `split` (every row for "all").
std::vector<std::string> selected_rows(const Table& table, const ReferenceParams& p,
                                       const std::filesystem::path& file) {
  std::vector<std::string> smiles = table.column(p.column);
  if (p.split == "all") return smiles;
  const std::vector<std::string> split = table.column(p.split_column);
  std::vector<std::string> kept;
  std::set<std::string> values;
  for (size_t i = 0; i < smiles.size(); ++i) {
    if (split[i] == p.split) kept.push_back(std::move(smiles[i]));
    values.insert(split[i]);
  }
  if (kept.empty()) {
    throw InputError(fmt::format(
        "molecule.novelty: {}: no row has {} = \"{}\"; the values are: {} (or split = \"all\")",
        file.string(), p.split_column, p.split, fmt::join(values, ", ")));
  }
  return kept;
}

}  // namespace

// ---- the figures --------------------------------------------------------------

double validity(const std::vector<std::string>& smiles) {
  if (smiles.empty()) return NAN;
  return static_cast<double>(count_valid(canonical_all(smiles))) / smiles.size();
}

double uniqueness(const std::vector<std::string>& smiles) {
  const auto canonical = canonical_all(smiles);
  const int64_t valid = count_valid(canonical);
  if (valid == 0) return NAN;
  return static_cast<double>(distinct_valid(canonical).size()) / valid;
}

double novelty(const std::vector<std::string>& smiles,
               const std::unordered_set<std::string>& reference) {
  const auto distinct = distinct_valid(canonical_all(smiles));
  if (distinct.empty()) return NAN;
  int64_t novel = 0;
  for (const auto& c : distinct) novel += !reference.contains(c);
  return static_cast<double>(novel) / distinct.size();
}

double internal_diversity(const std::vector<std::string>& smiles) {
  std::vector<MorganFingerprint> fps;
  for (auto& fp : morgan_fingerprints(smiles)) {
    if (fp) fps.push_back(*fp);
  }
  const auto n = static_cast<int64_t>(fps.size());
  if (n < 2) return NAN;
  // One partial sum per row, added in row order: the same figure for any
  // number of threads.
  std::vector<double> rows(n, 0.0);
  at::parallel_for(0, n, 16, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      for (int64_t j = i + 1; j < n; ++j) rows[i] += tanimoto_similarity(fps[i], fps[j]);
    }
  });
  double total = 0.0;
  for (const double r : rows) total += r;
  const double pairs = 0.5 * static_cast<double>(n) * static_cast<double>(n - 1);
  return 1.0 - total / pairs;
}

// ---- the reference molecules of novelty -----------------------------------------

void ReferenceParams::visit(ParamVisitor& v) {
  v.field("file", file,
          "the table of training molecules (CSV/TSV, optionally .gz), relative to the data "
          "folder or absolute; QM9: qm9_smiles/qm9_props.csv.gz");
  v.require(!file.empty(), "file", "is required");
  v.field("column", column, "the column holding SMILES");
  v.require(!column.empty(), "column", "must not be empty");
  v.field("split", split,
          "which rows are the training molecules: \"all\", or the rows whose split_column holds "
          "this value (the ZINC subset has valid and test)");
  v.field("split_column", split_column, "the column `split` selects on (unused for \"all\")");
}

ReferenceSet load_reference_set(const ReferenceParams& params,
                                const std::filesystem::path& data_dir) {
  using Clock = std::chrono::steady_clock;
  const auto seconds_since = [](Clock::time_point t) {
    return std::chrono::duration<double>(Clock::now() - t).count();
  };
  const auto started = Clock::now();
  ReferenceSet reference;
  reference.file = data_file_path(params.file, data_dir, "molecule.novelty reference");
  const Table table = Table::read(reference.file);
  const std::vector<std::string> smiles = selected_rows(table, params, reference.file);
  const double read_seconds = seconds_since(started);
  reference.rows = static_cast<int64_t>(smiles.size());
  const auto canonicalising = Clock::now();
  const std::vector<std::string> canonical = canonical_all(smiles);
  reference.invalid_rows = reference.rows - count_valid(canonical);
  reference.molecules = distinct_valid(canonical);
  svdd::logger("molecule")
      ->info(
          "molecule.novelty: {} reference rows of {} ({} invalid) -> {} molecules; read in {:.1f} "
          "s, "
          "canonicalised in {:.1f} s",
          reference.rows, reference.file.string(), reference.invalid_rows,
          reference.molecules.size(), read_seconds, seconds_since(canonicalising));
  return reference;
}

// ---- registration ---------------------------------------------------------------

void register_molecule_metrics(Registry& registry) {
  registry.add<svdd::ComponentKind::metric, NoParams>(
      "molecule.validity",
      "share of samples whose SMILES parses and sanitises in RDKit (NaN for no samples)",
      [](const NoParams&, const BuildContext&, const Domain& d) {
        require_molecule_tokens(d, "molecule.validity");
        return std::make_unique<FunctionMetric>(validity);
      });
  registry.add<svdd::ComponentKind::metric, NoParams>(
      "molecule.uniqueness",
      "distinct canonical SMILES among the valid samples / valid samples (MOSES, GDSS; NaN "
      "without valid samples)",
      [](const NoParams&, const BuildContext&, const Domain& d) {
        require_molecule_tokens(d, "molecule.uniqueness");
        return std::make_unique<FunctionMetric>(uniqueness);
      });
  registry.add<svdd::ComponentKind::metric, ReferenceParams>(
      "molecule.novelty",
      "share of the distinct valid molecules whose canonical SMILES is not among the training "
      "molecules of a data table (MOSES, GDSS; NaN without valid samples)",
      [](const ReferenceParams& p, const BuildContext& build, const Domain& d) {
        require_molecule_tokens(d, "molecule.novelty");
        auto reference =
            std::make_shared<const ReferenceSet>(load_reference_set(p, build.data_dir));
        return std::make_unique<FunctionMetric>(
            [reference](const std::vector<std::string>& smiles) {
              return novelty(smiles, reference->molecules);
            });
      });
  registry.add<svdd::ComponentKind::metric, NoParams>(
      "molecule.internal_diversity",
      "1 - mean Tanimoto similarity (Morgan r=2, 2048 bits) of the pairs of valid samples (MOSES "
      "IntDiv1 without self-pairs; NaN for fewer than 2 valid)",
      [](const NoParams&, const BuildContext&, const Domain& d) {
        require_molecule_tokens(d, "molecule.internal_diversity");
        return std::make_unique<FunctionMetric>(internal_diversity);
      });
}

}  // namespace svdd::molecule
