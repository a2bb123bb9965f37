// An example reward plugin: the share of positions where a motif starts in a
// decoded token string (overlaps counted). Works on every discrete domain,
// because it reads the samples' decoded strings.
//
// Everything a reward plugin needs is here: a parameters struct with
// defaults, a score, a registration function and SVDD_PLUGIN. (A reward that
// works on the whole batch tensor implements svdd::RewardOracle instead.)
#include <svdd/plugin.hpp>

namespace {

struct MotifCountParams {
  std::string motif = "AB";
  void visit(svdd::ParamVisitor& v) {
    v.field("motif", motif, "the string to count in each decoded sample");
    v.require(!motif.empty(), "motif", "must not be empty");
  }
};

// An empty or too-short string simply has no occurrence: 0.
double motif_share(const std::string& text, const std::string& motif) {
  if (text.size() < motif.size()) return 0.0;
  const size_t slots = text.size() - motif.size() + 1;
  size_t hits = 0;
  for (size_t at = 0; at < slots; ++at) hits += text.compare(at, motif.size(), motif) == 0;
  return static_cast<double>(hits) / static_cast<double>(slots);
}

void register_example(svdd::Registry& registry) {
  registry.add<svdd::ComponentKind::reward, MotifCountParams>(
      "example.motif_count", "share of positions where `motif` starts (discrete domains)",
      [](const MotifCountParams& p, const svdd::Domain& domain) {
        svdd::require_discrete(domain, "reward 'example.motif_count'");
        return svdd::per_sample_reward(
            [motif = p.motif](const std::string& text) { return motif_share(text, motif); }, 0.0);
      });
}

}  // namespace

SVDD_PLUGIN(register_example)
