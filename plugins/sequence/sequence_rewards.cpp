#include "sequence_rewards.hpp"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include <array>
#include <cctype>

#include "sequence_domain.hpp"
#include "svdd/error.hpp"

namespace svdd::sequence {
namespace {

void require_nucleotides(const Domain& domain, const std::string& reward) {
  if (!is_nucleotide_domain(domain)) {
    throw InputError(fmt::format(
        "reward '{}' scores DNA/RNA tokens (A, C, G, T/U first); model '{}' has another domain",
        reward, domain.name));
  }
}

// Token rows [B, L] -> [B] bool: rows of letters only. A row holding the
// mask (or any id outside A, C, G, T/U) is no sequence; it scores the
// reward's invalid_value(), as the oracles' rows do.
at::Tensor letter_rows(const at::Tensor& x) { return (x.ge(0) & x.lt(4)).all(1); }

at::Tensor invalid_unless(const at::Tensor& valid, const at::Tensor& scores, double invalid) {
  return at::where(valid.to(scores.device()), scores, at::full_like(scores, invalid));
}

// ---- GC content ----------------------------------------------------------

struct GcParams {
  double target = 0.5;
  void visit(ParamVisitor& v) {
    v.field("target", target, "the wanted share of G and C; r = -|GC - target|");
    v.in_range("target", target, 0.0, 1.0);
  }
};

class GcContent final : public RewardOracle {
 public:
  explicit GcContent(double target) : target_(target) {}
  // Token ids [B, L] (C = 1, G = 2), or probabilities [B, L, V] for gradients.
  at::Tensor score(const Samples& s) override {
    const at::Tensor& x = s.tensor();
    if (x.dim() == 3 && x.is_floating_point()) {
      const at::Tensor gc = (x.select(2, 1) + x.select(2, 2)).to(at::kDouble).mean(1);
      return -(gc - target_).abs().to(at::kCPU);
    }
    const at::Tensor gc = (x.eq(1) | x.eq(2)).to(at::kDouble).mean(1);
    return invalid_unless(letter_rows(x), -(gc - target_).abs(), invalid_value()).to(at::kCPU);
  }
  bool differentiable() const override { return true; }
  double invalid_value() const override { return -1.0; }

 private:
  double target_;
};

// ---- motif occurrences ---------------------------------------------------

// IUPAC nucleotide codes -> bit mask over A, C, G, T/U.
uint8_t iupac_mask(char c) {
  switch (std::toupper(static_cast<unsigned char>(c))) {
    case 'A':
      return 1;
    case 'C':
      return 2;
    case 'G':
      return 4;
    case 'T':
    case 'U':
      return 8;
    case 'R':
      return 1 | 4;
    case 'Y':
      return 2 | 8;
    case 'S':
      return 2 | 4;
    case 'W':
      return 1 | 8;
    case 'K':
      return 4 | 8;
    case 'M':
      return 1 | 2;
    case 'B':
      return 2 | 4 | 8;
    case 'D':
      return 1 | 4 | 8;
    case 'H':
      return 1 | 2 | 8;
    case 'V':
      return 1 | 2 | 4;
    case 'N':
      return 15;
    default:
      return 0;
  }
}

struct MotifParams {
  std::string motif = "TATAAA";
  bool both_strands = true;
  void visit(ParamVisitor& v) {
    v.field("motif", motif, "consensus in IUPAC codes (A C G T/U R Y S W K M B D H V N)");
    v.require(!motif.empty(), "motif", "must not be empty");
    for (char c : motif) {
      v.require(iupac_mask(c) != 0, "motif",
                fmt::format("'{}' is not an IUPAC nucleotide code", c));
    }
    v.field("both_strands", both_strands, "also count the motif's reverse complement");
  }
};

// The number of (overlapping) occurrences of a consensus motif.
class MotifCount final : public RewardOracle {
 public:
  MotifCount(const std::string& motif, bool both_strands) {
    for (char c : motif) forward_.push_back(iupac_mask(c));
    if (both_strands) {
      // Complement swaps A<->T and C<->G: bits 1<->8 and 2<->4.
      for (auto it = forward_.rbegin(); it != forward_.rend(); ++it) {
        const uint8_t m = *it;
        reverse_.push_back(((m & 1) << 3) | ((m & 8) >> 3) | ((m & 2) << 1) | ((m & 4) >> 1));
      }
      if (reverse_ == forward_) reverse_.clear();  // a palindrome counts once
    }
  }

  at::Tensor score(const Samples& s) override {
    at::Tensor x = s.tensor().to(at::kCPU, at::kLong).contiguous();
    auto a = x.accessor<int64_t, 2>();
    at::Tensor out = at::zeros({x.size(0)}, at::kDouble);
    auto o = out.accessor<double, 1>();
    for (int64_t i = 0; i < a.size(0); ++i) {
      o[i] = count(a[i], forward_) + (reverse_.empty() ? 0 : count(a[i], reverse_));
    }
    return invalid_unless(letter_rows(x), out, invalid_value());
  }
  double invalid_value() const override { return 0.0; }

 private:
  static int count(const at::TensorAccessor<int64_t, 1>& row, const std::vector<uint8_t>& motif) {
    const int64_t n = row.size(0), m = static_cast<int64_t>(motif.size());
    int hits = 0;
    for (int64_t start = 0; start + m <= n; ++start) {
      bool match = true;
      for (int64_t k = 0; k < m && match; ++k) {
        const int64_t token = row[start + k];
        match = token >= 0 && token < 4 && (motif[k] >> token & 1);
      }
      hits += match;
    }
    return hits;
  }

  std::vector<uint8_t> forward_, reverse_;
};

// ---- homopolymer runs ------------------------------------------------------

struct HomopolymerParams {
  int64_t max_run = 5;
  void visit(ParamVisitor& v) {
    v.field("max_run", max_run, "longest run of one letter allowed without penalty");
    v.at_least("max_run", max_run, 1);
  }
};

// -max(0, longest run of one letter - max_run).
class HomopolymerPenalty final : public RewardOracle {
 public:
  explicit HomopolymerPenalty(int64_t max_run) : max_run_(max_run) {}
  at::Tensor score(const Samples& s) override {
    at::Tensor x = s.tensor().to(at::kCPU, at::kLong).contiguous();
    auto a = x.accessor<int64_t, 2>();
    at::Tensor out = at::zeros({x.size(0)}, at::kDouble);
    auto o = out.accessor<double, 1>();
    for (int64_t i = 0; i < a.size(0); ++i) {
      int64_t longest = 0, run = 0;
      for (int64_t j = 0; j < a.size(1); ++j) {
        run = j > 0 && a[i][j] == a[i][j - 1] ? run + 1 : 1;
        longest = std::max(longest, run);
      }
      o[i] = -static_cast<double>(std::max<int64_t>(0, longest - max_run_));
    }
    return invalid_unless(letter_rows(x), out, invalid_value());
  }
  double invalid_value() const override { return -1e9; }

 private:
  int64_t max_run_;
};

}  // namespace

void register_sequence_rewards(Registry& registry) {
  registry.add<svdd::ComponentKind::reward, GcParams>(
      "sequence.gc_content",
      "-|GC share - target| (DNA/RNA tokens; differentiable in probabilities)",
      [](const GcParams& p, const BuildContext&, const Domain& d) {
        require_nucleotides(d, "sequence.gc_content");
        return std::make_unique<GcContent>(p.target);
      });
  registry.add<svdd::ComponentKind::reward, MotifParams>(
      "sequence.motif_count", "occurrences of an IUPAC consensus motif (optionally both strands)",
      [](const MotifParams& p, const BuildContext&, const Domain& d) {
        require_nucleotides(d, "sequence.motif_count");
        return std::make_unique<MotifCount>(p.motif, p.both_strands);
      });
  registry.add<svdd::ComponentKind::reward, HomopolymerParams>(
      "sequence.homopolymer_penalty", "-max(0, longest single-letter run - max_run)",
      [](const HomopolymerParams& p, const BuildContext&, const Domain& d) {
        require_nucleotides(d, "sequence.homopolymer_penalty");
        return std::make_unique<HomopolymerPenalty>(p.max_run);
      });
}

}  // namespace svdd::sequence
