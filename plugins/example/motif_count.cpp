// An example reward plugin: the number of times a motif occurs in a decoded
// token string (overlaps counted), divided by the most it could occur. Works
// on every discrete domain, because it reads the samples' decoded strings.
//
// Everything a reward plugin needs is here: a parameters struct with
// defaults, a RewardOracle, a registration function and SVDD_PLUGIN.
#include <ATen/ATen.h>

#include <algorithm>
#include <string>
#include <svdd/error.hpp>
#include <svdd/plugin.hpp>

namespace {

struct MotifCountParams {
  std::string motif = "AB";
  void visit(svdd::ParamVisitor& v) {
    v.field("motif", motif, "the string to count in each decoded sample");
    v.require(!motif.empty(), "motif", "must not be empty");
  }
};

class MotifCount final : public svdd::RewardOracle {
 public:
  explicit MotifCount(std::string motif) : motif_(std::move(motif)) {}

  at::Tensor score(const svdd::Samples& samples) override {
    const auto& texts = samples.decoded();
    at::Tensor out = at::empty({samples.size()}, at::kDouble);
    for (size_t i = 0; i < texts.size(); ++i) out[i] = fraction(texts[i]);
    return out;
  }

  // An empty or too-short string simply has no occurrence.
  double invalid_value() const override { return 0.0; }

 private:
  double fraction(const std::string& text) const {
    if (text.size() < motif_.size()) return 0.0;
    const size_t slots = text.size() - motif_.size() + 1;
    size_t hits = 0;
    for (size_t at = 0; at < slots; ++at) hits += text.compare(at, motif_.size(), motif_) == 0;
    return static_cast<double>(hits) / static_cast<double>(slots);
  }

  std::string motif_;
};

void register_example(svdd::Registry& registry) {
  registry.add_reward<MotifCountParams>(
      "example.motif_count", "share of positions where `motif` starts (discrete domains)",
      [](const MotifCountParams& p, const svdd::BuildContext&, const svdd::Domain& domain) {
        if (!domain.discrete()) {
          throw svdd::InputError("example.motif_count needs a discrete domain; '" + domain.name +
                                 "' is continuous");
        }
        return std::make_unique<MotifCount>(p.motif);
      });
}

}  // namespace

SVDD_PLUGIN(register_example)
