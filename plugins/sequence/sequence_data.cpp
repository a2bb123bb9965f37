#include "sequence_data.hpp"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include <set>

#include "svdd/config/experiment.hpp"
#include "svdd/error.hpp"
#include "svdd/io/table_file.hpp"
#include "svdd/trainer.hpp"
#include "svdd/training/card.hpp"
#include "svdd/util/seeding.hpp"

namespace svdd::sequence {

void SequenceDataParams::visit(ParamVisitor& v, bool with_target) {
  v.field("file", file,
          "the data table (CSV/TSV, plain or .gz), relative to the data folder or absolute");
  v.require(!file.empty(), "file", "must name a data table");
  v.field("sequence_column", sequence_column, "the column of sequences");
  v.require(!sequence_column.empty(), "sequence_column", "must name a column");
  if (with_target) {
    v.field("target_column", target_column, "the column of labels to regress");
    v.require(!target_column.empty(), "target_column", "must name a column");
  }
  v.field("id_column", id_column,
          "element ids (\"_Reversed\" stripped, so both orientations split together); \"\": "
          "each sequence is its own element");
  v.field("alphabet", alphabet, "\"dna\" (ACGT) or \"rna\" (ACGU; T in the file reads as U)");
  v.require(alphabet == "dna" || alphabet == "rna", "alphabet", "must be \"dna\" or \"rna\"");
  v.field("test_fraction", test_fraction, "share of elements held out from all training");
  v.in_open_range("test_fraction", test_fraction, 0, 1);
  v.field("train_a_share", train_a_share,
          "share of the training elements in train_a (the guiding oracle's part); the rest is "
          "train_b");
  v.in_open_range("train_a_share", train_a_share, 0, 1);
  v.field("split_seed", split_seed, "seed of the element split");
}

SplitPart split_part_from(const std::string& name) {
  if (name == "all") return SplitPart::all;
  if (name == "test") return SplitPart::test;
  if (name == "train") return SplitPart::train;
  if (name == "train_a") return SplitPart::train_a;
  if (name == "train_b") return SplitPart::train_b;
  throw InputError(
      fmt::format("'{}' is not a part of the split (all, test, train, train_a, train_b)", name));
}

std::filesystem::path data_file(const SequenceDataParams& params,
                                const std::filesystem::path& data_dir) {
  const std::filesystem::path file = data_file_path(params.file, data_dir, "data file");
  if (!std::filesystem::is_regular_file(file)) {
    throw InputError(fmt::format("data file not found: {}", file.string()));
  }
  return file;
}

namespace {

std::string element_of(std::string id) {
  if (!id.empty() && id.back() == ':') id.pop_back();
  const std::string suffix = "_Reversed";
  if (id.size() > suffix.size() &&
      id.compare(id.size() - suffix.size(), suffix.size(), suffix) == 0) {
    id.resize(id.size() - suffix.size());
  }
  return id;
}

// The element's place in [0, 1).
double place_of(const std::string& element, int64_t seed) {
  return double(stream_seed(seed, element, 0) >> 11) * 0x1.0p-53;
}

bool in_part(double u, double test_fraction, double train_a_share, SplitPart part) {
  const double half = test_fraction + (1.0 - test_fraction) * train_a_share;
  switch (part) {
    case SplitPart::all:
      return true;
    case SplitPart::test:
      return u < test_fraction;
    case SplitPart::train:
      return u >= test_fraction;
    case SplitPart::train_a:
      return u >= test_fraction && u < half;
    case SplitPart::train_b:
      return u >= half;
  }
  return false;
}

}  // namespace

SequenceData load_sequence_data(const SequenceDataParams& params,
                                const std::filesystem::path& data_dir, SplitPart part) {
  SequenceData data;
  data.file = data_file(params, data_dir);
  data.sha1 = file_sha1(data.file);
  data.alphabet = alphabet_from(params.alphabet);
  const Table table = Table::read(data.file);
  std::vector<std::string> sequences = table.column(params.sequence_column);
  if (sequences.empty()) throw InputError(fmt::format("{}: no rows", data.file.string()));
  const std::vector<std::string> ids =
      params.id_column.empty() ? sequences : table.column(params.id_column);
  std::vector<double> labels;
  if (!params.target_column.empty()) labels = table.numbers(params.target_column);

  data.length = static_cast<int64_t>(sequences.front().size());
  std::vector<std::string> kept;
  std::vector<double> kept_labels;
  std::set<std::string> elements;
  for (size_t i = 0; i < sequences.size(); ++i) {
    std::string element = element_of(ids[i]);
    if (!in_part(place_of(element, params.split_seed), params.test_fraction, params.train_a_share,
                 part))
      continue;
    std::string s = normalised_letters(sequences[i], data.alphabet);
    const size_t line = table.line(static_cast<int64_t>(i));
    if (static_cast<int64_t>(s.size()) != data.length) {
      throw InputError(fmt::format(
          "{}: line {}: column '{}' has a sequence of {} letters; the first row has {} (every "
          "sequence must have the same length)",
          data.file.string(), line, params.sequence_column, s.size(), data.length));
    }
    if (const size_t at = first_foreign_letter(s, data.alphabet); at != std::string::npos) {
      throw InputError(fmt::format("{}: line {}: column '{}', position {}: '{}' is not one of {}",
                                   data.file.string(), line, params.sequence_column, at + 1,
                                   sequences[i][at], letters(data.alphabet)));
    }
    kept.push_back(std::move(s));
    if (!labels.empty()) kept_labels.push_back(labels[i]);
    elements.insert(element);
    data.elements.push_back(std::move(element));
  }
  if (kept.empty()) {
    throw InputError(fmt::format("{}: no rows fall in this part of the split", data.file.string()));
  }
  try {
    data.tokens = encode(kept, data.alphabet, data.length);
  } catch (const InputError& e) {
    throw InputError(
        fmt::format("{}, column '{}': {}", data.file.string(), params.sequence_column, e.what()));
  }
  if (!labels.empty()) data.targets = at::tensor(kept_labels, at::kDouble);
  data.element_count = static_cast<int64_t>(elements.size());
  return data;
}

}  // namespace svdd::sequence
