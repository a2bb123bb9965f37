#include "sequence_diffusion.hpp"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include <limits>

#include "conv_denoiser.hpp"
#include "kmer_statistics.hpp"
#include "sequence_data.hpp"
#include "svdd/error.hpp"
#include "svdd/util/seeding.hpp"

namespace svdd::sequence {
namespace {

// The model's domain must be what the checkpoint was trained on.
void require_domain(const Domain& domain, const LoadedDenoiser& loaded,
                    const std::filesystem::path& checkpoint, const std::string& who) {
  const Domain expected = sequence_domain(loaded.alphabet, loaded.length);
  if (domain.name != expected.name || domain.shape != expected.shape) {
    throw InputError(
        fmt::format("{}: {} models {} of length {}, but the run's model samples {} of length {}",
                    who, checkpoint.string(), expected.name, loaded.length, domain.name,
                    domain.shape.empty() ? 0 : domain.shape[0]));
  }
}

// ---- the model -------------------------------------------------------------

struct MdlmParams {
  FilePath checkpoint;
  int steps = 64;  // int, as MaskedDiffusionOptions keeps it
  void visit(ParamVisitor& v) {
    v.field("checkpoint", checkpoint,
            "a denoiser written by `svdd train` with a sequence.train_mdlm file (its card "
            "beside it says the alphabet and length)");
    v.require(!checkpoint.path.empty(), "checkpoint", "is required");
    v.field("steps", steps, "T: reverse steps (each reveals about L/T positions)");
    v.at_least("steps", steps, 1);
  }
};

// ---- the evidence lower bound as an evaluation reward -----------------------

struct LogLikelihoodParams {
  FilePath checkpoint;
  int64_t t_points = 8;
  int64_t seed = 0;
  void visit(ParamVisitor& v) {
    v.field("checkpoint", checkpoint, "the sequence.train_mdlm denoiser whose bound is reported");
    v.require(!checkpoint.path.empty(), "checkpoint", "is required");
    v.field("t_points", t_points, "points of the quadrature in t (more: less noise, slower)");
    v.at_least("t_points", t_points, 1);
    v.field("seed", seed, "seed of each sequence's masks (hashed with the sequence)");
  }
};

class LogLikelihood final : public RewardOracle {
 public:
  LogLikelihood(LoadedDenoiser loaded, int64_t t_points, int64_t seed, int64_t chunk_rows)
      : loaded_(std::move(loaded)), t_points_(t_points), seed_(seed), chunk_rows_(chunk_rows) {}

  // Token ids [B, L] -> the ELBO of each sequence [B] float64 (nats); a row
  // holding a mask token gets invalid_value().
  at::Tensor score(const Samples& samples) override {
    const at::Tensor x = samples.tensor().to(at::kCPU);
    if (x.is_floating_point()) {
      throw RuntimeFailure("sequence.log_likelihood scores token ids, not probabilities");
    }
    const auto& decoded = samples.decoded();
    at::Tensor out = at::empty({x.size(0)}, at::kDouble);
    const int64_t mask_id = 4;
    at::Tensor has_mask = x.eq(mask_id).any(1);
    at::Tensor clean = x.masked_fill(x.eq(mask_id), 0);
    for (int64_t b = 0; b < x.size(0); b += chunk_rows_) {
      const int64_t e = std::min(x.size(0), b + chunk_rows_);
      std::vector<uint64_t> seeds;
      for (int64_t i = b; i < e; ++i) seeds.push_back(stream_seed(seed_, decoded[i], 0));
      out.slice(0, b, e).copy_(masked_diffusion_elbo(*loaded_.denoiser, clean.slice(0, b, e),
                                                     mask_id, t_points_, seeds));
    }
    return at::where(has_mask, at::full_like(out, invalid_value()), out);
  }
  double invalid_value() const override { return -1e9; }

 private:
  LoadedDenoiser loaded_;
  int64_t t_points_, seed_, chunk_rows_;
};

// ---- k-mer spectrum against real sequences ------------------------------------

struct KmerParams {
  int64_t k = 3;
  SequenceDataParams data;
  std::string part = "test";
  void visit(ParamVisitor& v) {
    v.field("k", k, "k-mer length");
    v.in_range("k", k, 1, 8);
    data.visit(v, /*with_target=*/false);
    v.field("part", part,
            "which rows of the table are the reference: test (held out from training), train, "
            "train_a, train_b or all");
    v.require(part == "test" || part == "train" || part == "train_a" || part == "train_b" ||
                  part == "all",
              "part", "must be test, train, train_a, train_b or all");
  }
};

class KmerCorrelation final : public SampleSetMetric {
 public:
  KmerCorrelation(at::Tensor reference, std::string letters, int64_t k)
      : reference_(std::move(reference)), letters_(std::move(letters)), k_(k) {}

  // Pearson correlation between the k-mer frequencies of the samples and of
  // the reference sequences.
  double compute(const std::vector<std::string>& decoded) override {
    if (decoded.empty()) return NAN;
    return pearson(kmer_frequencies(decoded, letters_, k_), reference_);
  }

  std::optional<Spectrum> spectrum(const std::vector<std::string>& decoded) override {
    if (decoded.empty()) return std::nullopt;
    const at::Tensor samples = kmer_frequencies(decoded, letters_, k_).contiguous();
    const at::Tensor reference = reference_.to(at::kDouble).contiguous();
    Spectrum s;
    s.what = fmt::format("{}-mer frequency", k_);
    for (int64_t code = 0; code < samples.numel(); ++code) {
      std::string kmer(static_cast<size_t>(k_), ' ');
      for (int64_t j = k_ - 1, c = code; j >= 0; --j, c /= 4) kmer[j] = letters_[c % 4];
      s.keys.push_back(kmer);
      s.samples.push_back(samples.data_ptr<double>()[code]);
      s.reference.push_back(reference.data_ptr<double>()[code]);
    }
    return s;
  }

 private:
  at::Tensor reference_;
  std::string letters_;
  int64_t k_;
};

}  // namespace

void register_sequence_diffusion(Registry& registry) {
  registry.add<svdd::ComponentKind::model, MdlmParams>(
      "sequence.mdlm",
      "masked diffusion (MDLM, log-linear schedule) over DNA/RNA with a trained dilated-conv "
      "denoiser",
      [](const MdlmParams& p, const BuildContext& build) {
        LoadedDenoiser loaded = load_conv_denoiser(p.checkpoint.path, build.device);
        MaskedDiffusionOptions options;
        options.steps = p.steps;
        options.chunk_rows = build.chunk_rows;
        options.device = build.device;
        return make_masked_diffusion(sequence_domain(loaded.alphabet, loaded.length),
                                     loaded.denoiser, options);
      });

  registry.add<svdd::ComponentKind::reward, LogLikelihoodParams>(
      "sequence.log_likelihood",
      "naturalness: the MDLM evidence lower bound of log p(x) under a trained denoiser (nats "
      "per sequence; -1e9 for a sequence with a mask)",
      [](const LogLikelihoodParams& p, const BuildContext& build, const Domain& domain) {
        LoadedDenoiser loaded = load_conv_denoiser(p.checkpoint.path, build.device);
        require_domain(domain, loaded, p.checkpoint.path, "sequence.log_likelihood");
        return std::make_unique<LogLikelihood>(std::move(loaded), p.t_points, p.seed,
                                               build.chunk_rows);
      });

  registry.add<svdd::ComponentKind::metric, KmerParams>(
      "sequence.kmer_correlation",
      "Pearson correlation of the k-mer frequencies of a run's samples with real sequences",
      [](const KmerParams& p, const BuildContext& build, const Domain& domain) {
        if (!is_nucleotide_domain(domain)) {
          throw InputError(
              fmt::format("sequence.kmer_correlation needs DNA/RNA samples; the model samples '{}'",
                          domain.name));
        }
        SequenceData data = load_sequence_data(p.data, build.data_dir, split_part_from(p.part));
        if (sequence_domain(data.alphabet, 1).name != domain.name) {
          throw InputError(
              fmt::format("sequence.kmer_correlation: alphabet = \"{}\" but the model samples {}",
                          p.data.alphabet, domain.name));
        }
        return std::make_unique<KmerCorrelation>(kmer_frequencies(data.tokens, p.k),
                                                 letters(data.alphabet), p.k);
      });
}

}  // namespace svdd::sequence
