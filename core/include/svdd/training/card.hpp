// The card beside every trained checkpoint (NAME.card.toml): what was
// trained, on which data (with the file's SHA-1), with which seed and
// configuration, and how well it did. A trainer writes its sections from
// parameter structs, and the component that loads the checkpoint reads them
// back strictly.
#pragma once

#include <filesystem>
#include <string>

#include "svdd/export.hpp"
#include "svdd/params.hpp"
#include "svdd/trainer.hpp"

namespace svdd {

// "dir/NAME.pt" -> "dir/NAME.card.toml".
SVDD_API std::filesystem::path card_path(const std::filesystem::path& checkpoint);
// The SHA-1 of a file's bytes as 40 hex digits (data provenance on cards).
SVDD_API std::string file_sha1(const std::filesystem::path& file);

// The card of `checkpoint` (card_path), after checking that it describes
// these weights: a card records the SHA-1 of its checkpoint's bytes
// (weights_sha1), and a card that records other weights (a DNA card beside
// RNA weights) is refused, an InputError naming both files. A card without
// the record (written before svdd recorded it) is accepted with a warning.
// A missing card or checkpoint is left to the caller's own message.
SVDD_API std::filesystem::path checked_card(const std::filesystem::path& checkpoint);

// Writes the card of a trained network beside its checkpoint, atomically:
// a comment `title`, then checkpoint, its weights_sha1, training file, seed,
// versions and time, then `body_toml` (the trainer's own tables: what the network is,
// [data] with files and hashes, [results]) and the [config.*] tables.
SVDD_API void write_training_card(const TrainContext& context, const std::string& title,
                                  const std::string& body_toml);

// Card sections from parameter structs. params_section writes the fields
// `visit` names with their current values as "[name]\nkey = value\n...";
// read_card_section reads table `name` of a card back strictly (a missing
// table, an unknown key or a wrong type is an InputError naming the card).
// A trainer writes its network's parameters, the data and its results this
// way, and the component that loads the checkpoint reads them back.
SVDD_API std::string params_section(const std::string& name, const VisitFn& visit);
SVDD_API void read_card_section(const std::filesystem::path& card, const std::string& name,
                                const VisitFn& visit);

template <Parameters P>
P read_card_section(const std::filesystem::path& card, const std::string& name) {
  P params;
  read_card_section(card, name, [&](ParamVisitor& v) { params.visit(v); });
  return params;
}

}  // namespace svdd
