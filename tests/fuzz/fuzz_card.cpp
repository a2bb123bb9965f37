// Fuzzes svdd::read_card_section, the strict reader of the cards beside
// trained checkpoints (NAME.card.toml): toml++ parses the card, and core's
// parameter reader reads one table of it into a parameters struct.
//
// Input: the card's text. The target reads two tables: [domain] in the
// shape of the value networks' domain card, and [fuzz] with one field of
// every type a parameters struct can have (so one table reaches every
// branch of the reader).
//
// A finding: a crash, sanitizer report, hang, memory blow-up or an
// exception other than svdd::Error.
#include <string>
#include <vector>

#include "every_field.hpp"
#include "fuzz_input.hpp"
#include "svdd/training/card.hpp"

namespace {

// The [domain] table of a value network's card (core/src/training/value_network.cpp).
struct DomainCard {
  std::string name;
  std::string kind;
  std::vector<int64_t> shape;
  int64_t vocab_size = 0;
  int64_t mask_id = -1;
  int64_t steps = 0;

  void visit(svdd::ParamVisitor& v) {
    v.field("name", name, "the domain's name");
    v.field("kind", kind, "\"discrete\" or \"continuous\"");
    v.one_of("kind", kind, {"\"discrete\"", "\"continuous\""});
    v.field("shape", shape, "shape of one sample");
    v.field("vocab_size", vocab_size, "token ids including the mask");
    v.field("mask_id", mask_id, "the mask token's id");
    v.field("steps", steps, "reverse steps");
    v.at_least("steps", steps, 1);
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto card = svdd::fuzz::scratch_file("net.card.toml", svdd::fuzz::bytes_of(data, size));
  svdd::fuzz::accepted([&] { svdd::read_card_section<DomainCard>(card, "domain"); });
  svdd::fuzz::accepted([&] { svdd::read_card_section<svdd::fuzz::EveryField>(card, "fuzz"); });
  return 0;
}
