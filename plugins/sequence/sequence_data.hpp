// Labelled sequence tables (the enhancer activity and 5'UTR ribosome load
// sets under ../shared/data) and their deterministic split by element.
//
// Each row belongs to an element: its id with a trailing "_Reversed" (and
// ':') removed, so that both orientations of an enhancer always fall on the
// same side of every split; without an id column, the sequence itself. An
// element's place u in [0, 1) is a hash of split_seed and its name:
//   u <  test_fraction                 -> "test" (held out from all training)
//   otherwise                          -> "train", which oracles split into
//     u <  test_fraction + (1 - test_fraction) * train_a_share  -> "train_a"
//     u >= that                                                  -> "train_b"
// so a guiding oracle (train_a) and an evaluation oracle (train_b) never see
// each other's elements, and every component that names the same split sees
// the same test elements.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "sequence_domain.hpp"
#include "svdd/params.hpp"

namespace svdd::sequence {

struct SequenceDataParams {
  std::string file;             // relative to the data folder, or absolute
  std::string sequence_column;  // e.g. "seq200" or "utr50"
  std::string target_column;    // the label (oracles); "" when unused
  std::string id_column;        // element ids; "" = each sequence is its own element
  std::string alphabet = "dna";
  double test_fraction = 0.1;
  double train_a_share = 0.5;  // of the training elements, the share in train_a
  int64_t split_seed = 0;

  // Reads the keys above (file, sequence_column, target_column when
  // `with_target`, id_column, alphabet, test_fraction, train_a_share,
  // split_seed).
  void visit(ParamVisitor& v, bool with_target);
};

// Which rows to keep.
enum class SplitPart { all, test, train, train_a, train_b };
// "all", "test", "train", "train_a", "train_b"; throws InputError otherwise.
SplitPart split_part_from(const std::string& name);

struct SequenceData {
  std::filesystem::path file;  // resolved
  std::string sha1;            // of the file's bytes
  Alphabet alphabet = Alphabet::dna;
  int64_t length = 0;                 // every sequence has this many letters
  at::Tensor tokens;                  // [N, length] int64, CPU
  at::Tensor targets;                 // [N] float64 (undefined without target_column)
  std::vector<std::string> elements;  // element name per row
  int64_t element_count = 0;          // distinct elements among the rows
};

// Reads the table and keeps the rows of `part`. Throws InputError naming the
// file, line and position for a missing file or column, a bad letter, a
// sequence of another length, or a label that is not a number.
SequenceData load_sequence_data(const SequenceDataParams& params,
                                const std::filesystem::path& data_dir, SplitPart part);

// The resolved path of params.file.
std::filesystem::path data_file(const SequenceDataParams& params,
                                const std::filesystem::path& data_dir);

}  // namespace svdd::sequence
