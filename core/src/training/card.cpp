// Cards of trained checkpoints (see card.hpp).
#include "svdd/training/card.hpp"

#include <fmt/format.h>

#include <boost/uuid/detail/sha1.hpp>
#include <fstream>
#include <sstream>

#include "config/toml_config.hpp"
#include "io/file_writing.hpp"
#include "svdd/error.hpp"
#include "svdd/util/log.hpp"
#include "svdd/version.hpp"

namespace svdd {

std::filesystem::path card_path(const std::filesystem::path& checkpoint) {
  std::filesystem::path p = checkpoint;
  return p.replace_extension(".card.toml");
}

std::string file_sha1(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw InputError(fmt::format("cannot read {}", file.string()));
  boost::uuids::detail::sha1 sha;
  std::vector<char> buffer(1 << 16);
  while (in) {
    in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    if (in.gcount() > 0) sha.process_bytes(buffer.data(), static_cast<size_t>(in.gcount()));
  }
  boost::uuids::detail::sha1::digest_type digest;
  sha.get_digest(digest);
  std::string hex;
  for (unsigned int word : digest) hex += fmt::format("{:08x}", word);
  return hex;
}

std::filesystem::path checked_card(const std::filesystem::path& checkpoint) {
  const auto card = card_path(checkpoint);
  if (!std::filesystem::is_regular_file(card) || !std::filesystem::is_regular_file(checkpoint)) {
    return card;
  }
  const toml::table root = read_toml_file(card, "card");
  const auto recorded = root["weights_sha1"].value<std::string>();
  if (!recorded) {
    logger("core")->warn(
        "{} records no weights_sha1 (an older svdd wrote it), so it cannot be checked against {}",
        card.string(), checkpoint.string());
    return card;
  }
  if (const std::string actual = file_sha1(checkpoint); actual != *recorded) {
    throw InputError(fmt::format(
        "{} describes other weights than {} (its weights_sha1 is {}, the file's SHA-1 is {}): "
        "keep each checkpoint with the card `svdd train` wrote for it",
        card.string(), checkpoint.string(), *recorded, actual));
  }
  return card;
}

void write_training_card(const TrainContext& context, const std::string& title,
                         const std::string& body_toml) {
  toml::table top;
  top.insert("checkpoint", context.checkpoint.filename().string());
  // Every trainer saves the weights before their card.
  top.insert("weights_sha1", file_sha1(context.checkpoint));
  // Relative to the card, so a committed card names no machine's folders.
  top.insert(
      "training_file",
      std::filesystem::relative(context.training_file, context.checkpoint.parent_path()).string());
  top.insert("seed", context.seed);
  top.insert("svdd_version", version());
  top.insert("libtorch_version", torch_version());
  top.insert("written", utc_now_text());
  std::ostringstream head;
  head << top;
  std::string comment;
  std::istringstream lines(title);
  for (std::string line; std::getline(lines, line);) comment += "# " + line + "\n";
  const auto file = card_path(context.checkpoint);
  write_atomically(file, [&](const std::filesystem::path& tmp) {
    std::ofstream out(tmp);
    out << comment << "\n" << head.str() << "\n\n" << body_toml << "\n" << context.config_toml;
    finish_writing(out, tmp);
  });
}

std::string params_section(const std::string& name, const VisitFn& visit) {
  return section_text({name}, write_params(visit));
}

void read_card_section(const std::filesystem::path& card, const std::string& name,
                       const VisitFn& visit) {
  if (!std::filesystem::is_regular_file(card)) {
    throw InputError(
        fmt::format("card not found: {} (a checkpoint travels with its card)", card.string()));
  }
  const toml::table root = read_toml_file(card, "card");
  const auto sources = SourceMap::of(root, card.string());
  const toml::node* node = root.get(name);
  if (!node || !node->is_table()) {
    throw InputError(fmt::format("{}: not the card of this kind of checkpoint: no [{}] table",
                                 card.string(), name));
  }
  make_component_config(*node->as_table(), ConfigOrigin{sources, name, card.parent_path()})
      ->read(visit);
}

}  // namespace svdd
