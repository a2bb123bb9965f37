// What a sample is: the Domain of a model (continuous tensor shape, or token
// strings) and Samples, a batch of them that decodes itself lazily.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "svdd/export.hpp"

namespace svdd {

// An 8-bit picture, rows top to bottom, pixels interleaved:
// pixels.size() == height * width * channels; channels 1 (grey) or 3 (RGB).
struct Picture {
  int64_t height = 0, width = 0, channels = 1;
  std::vector<uint8_t> pixels;
};

// Draws one sample from its decoded form (as samples.csv holds it); nullopt
// when that text is not a picture of this domain.
using PictureFn = std::function<std::optional<Picture>(const std::string& decoded)>;

// One sample from its decoded form, the inverse of Domain::decode (for
// `svdd score` of designs made elsewhere): `sample` [...shape] on the CPU
// (int64 ids, or float32), or an undefined tensor and `problem` saying why
// the text is not a sample of the domain (a bad letter, a wrong length, an
// invalid SMILES).
struct Encoded {
  at::Tensor sample;
  std::string problem;
};
using EncodeFn = std::function<Encoded(const std::string& decoded)>;

struct SVDD_API Domain {
  enum class Kind { continuous, discrete };

  std::string name;  // e.g. "toy.categorical", "sequence.dna"
  Kind kind = Kind::continuous;
  // Shape of one sample. Continuous: e.g. {2} or {1, 28, 28}, float32.
  // Discrete: {L}, int64 token ids.
  std::vector<int64_t> shape;
  // Discrete only: number of token ids including the mask token, the mask
  // token's id, and the text of every id (alphabet.size() == vocab_size).
  int64_t vocab_size = 0;
  int64_t mask_id = -1;
  std::vector<std::string> alphabet;
  // Optional custom decoder from a batch [B, ...] (CPU) to B strings. When
  // empty: discrete samples concatenate their alphabet entries; continuous
  // samples with at most 16 values print them separated by ';', larger ones
  // decode to "".
  std::function<std::vector<std::string>(const at::Tensor&)> decoder;
  // Optional distance between samples for diversity: batches a [n, ...] and
  // b [m, ...] -> [n, m] float64 CPU (e.g. 1 - Tanimoto for molecules). When
  // empty: the share of differing positions (discrete) or the Euclidean
  // distance (continuous).
  std::function<at::Tensor(const at::Tensor&, const at::Tensor&)> distance;
  // Optional: how a sample is drawn, for the run's samples_grid.png (the
  // first samples of every run, one row per run). When empty, the domain's
  // samples are not drawn.
  PictureFn picture;
  // Optional inverse of the decoder. When empty: discrete texts are split
  // into alphabet entries (longest first; the mask token is not a letter
  // of a finished sample), continuous ones read shape-many ';'-separated
  // numbers (as the default decoder writes at most 16 values).
  EncodeFn encoder;

  bool discrete() const { return kind == Kind::discrete; }
  // Decodes a batch [B, ...] on any device to B strings.
  std::vector<std::string> decode(const at::Tensor& batch) const;
  // Encodes one decoded text (see EncodeFn).
  Encoded encode(const std::string& decoded) const;
  // The distance matrix between two batches, [n, m] float64 CPU.
  at::Tensor pairwise_distances(const at::Tensor& a, const at::Tensor& b) const;
};

// Refuses a domain a component does not fit, with InputError "<who> needs a
// discrete domain; model '<name>' is continuous" (or the reverse). `who`
// names the component, e.g. "reward 'molecule.qed'".
SVDD_API void require_discrete(const Domain& domain, std::string_view who);
SVDD_API void require_continuous(const Domain& domain, std::string_view who);

// A batch of samples x [B, ...] of one domain. Rewards that work on strings
// (SMILES, ACGT) call decoded(), which decodes once and caches.
class SVDD_API Samples {
 public:
  Samples(at::Tensor x, const Domain& domain);

  const at::Tensor& tensor() const { return x_; }
  const Domain& domain() const { return *domain_; }
  int64_t size() const { return x_.size(0); }
  const std::vector<std::string>& decoded() const;

 private:
  at::Tensor x_;
  const Domain* domain_;
  mutable std::optional<std::vector<std::string>> decoded_;
};

}  // namespace svdd
