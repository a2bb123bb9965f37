// Masked discrete diffusion with the log-linear schedule (see masked_diffusion.hpp).
#include "svdd/families/masked_diffusion.hpp"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <fmt/format.h>

#include <limits>

#include "decoding/chunking.hpp"
#include "svdd/error.hpp"

namespace svdd {

MaskedDenoiser::~MaskedDenoiser() = default;
namespace {

class MaskedTransition final : public Transition {
 public:
  MaskedTransition(at::Tensor x_t, at::Tensor probs, int step, int64_t mask_id)
      : x_t_(std::move(x_t)), probs_(std::move(probs)), step_(step), mask_id_(mask_id) {}

  at::Tensor sample(int64_t k, at::Generator& generator) override {
    return sample_from(probs_, k, generator);
  }

  at::Tensor sample_tilted(int64_t k, at::Generator& generator,
                           const at::Tensor& log_tilt) override {
    if (log_tilt.sizes() != probs_.sizes()) {
      throw RuntimeFailure(fmt::format("tilt of shape {}, expected {}",
                                       shape_text(log_tilt.sizes()), shape_text(probs_.sizes())));
    }
    at::Tensor logits = probs_.clamp_min(1e-30).log() + log_tilt.to(probs_.options());
    logits.select(2, mask_id_).fill_(-std::numeric_limits<float>::infinity());
    return sample_from(logits.softmax(-1), k, generator);
  }

  at::Tensor x0_hat() override {
    at::Tensor argmax = probs_.argmax(-1);
    return at::where(x_t_.eq(mask_id_), argmax, x_t_);
  }

  at::Tensor x0_probs() override { return probs_; }

 private:
  // Reveals each masked position with probability 1/s, its token drawn from
  // `probs` [B, L, V]; known tokens are carried over.
  at::Tensor sample_from(const at::Tensor& probs, int64_t k, at::Generator& generator) {
    at::Tensor x = x_t_.repeat_interleave(k, 0);
    at::Tensor masked = x.eq(mask_id_);
    // Each masked position is revealed with probability
    // (alpha(s-1) - alpha(s)) / (1 - alpha(s)) = 1/s under alpha(t) = 1 - t.
    at::Tensor reveal = masked;
    if (step_ > 1) {
      at::Tensor coin = at::empty(x.sizes(), x.options().dtype(at::kFloat));
      coin.bernoulli_(1.0 / step_, generator);
      reveal = masked.logical_and(coin.to(at::kBool));
    }
    at::Tensor where = reveal.nonzero();  // [n, 2] (row, position)
    if (where.size(0) == 0) return x;
    at::Tensor parent_rows = where.select(1, 0).div(k, "floor");
    at::Tensor positions = where.select(1, 1);
    at::Tensor p = probs.index({parent_rows, positions});  // [n, V]
    at::Tensor tokens = at::multinomial(p, 1, /*replacement=*/true, generator).squeeze(1);
    x.index_put_({where.select(1, 0), positions}, tokens);
    return x;
  }

  at::Tensor x_t_, probs_;
  int step_;
  int64_t mask_id_;
};

class MaskedDiffusion final : public DiffusionModel {
 public:
  MaskedDiffusion(Domain domain, std::shared_ptr<MaskedDenoiser> denoiser,
                  MaskedDiffusionOptions options, std::shared_ptr<const ExactDistribution> exact)
      : domain_(std::move(domain)),
        denoiser_(std::move(denoiser)),
        options_(std::move(options)),
        exact_(std::move(exact)) {
    if (!domain_.discrete() || domain_.mask_id < 0 || domain_.mask_id >= domain_.vocab_size ||
        domain_.shape.size() != 1) {
      throw InputError(fmt::format(
          "masked diffusion needs a discrete domain of token strings with a mask token; '{}' is "
          "not one",
          domain_.name));
    }
    if (options_.steps < 1) throw InputError("masked diffusion: steps must be at least 1");
  }

  const Domain& domain() const override { return domain_; }
  int num_steps() const override { return options_.steps; }
  const ExactDistribution* exact() const override { return exact_.get(); }

  at::Tensor prior(int64_t batch, at::Generator&) override {
    return at::full({batch, domain_.shape[0]}, domain_.mask_id,
                    at::TensorOptions().dtype(at::kLong).device(options_.device));
  }

  std::unique_ptr<Transition> transition(const at::Tensor& x_t, int step) override {
    if (step < 1 || step > options_.steps) {
      throw RuntimeFailure(
          fmt::format("masked diffusion: step {} outside [1, {}]", step, options_.steps));
    }
    const float t = static_cast<float>(step) / static_cast<float>(options_.steps);
    at::Tensor probs = map_row_chunks(x_t.size(0), options_.chunk_rows, [&](int64_t b, int64_t e) {
      at::Tensor rows = x_t.slice(0, b, e);
      at::Tensor logits =
          denoiser_->logits(rows, at::full({e - b}, t, rows.options().dtype(at::kFloat)));
      return normalise(rows, logits);
    });
    return std::make_unique<MaskedTransition>(x_t, std::move(probs), step, domain_.mask_id);
  }

 private:
  // Softmax over real tokens; unmasked positions become one-hot on their token.
  at::Tensor normalise(const at::Tensor& x_t, at::Tensor logits) const {
    const int64_t vocab = domain_.vocab_size;
    if (logits.dim() != 3 || logits.size(0) != x_t.size(0) || logits.size(1) != x_t.size(1) ||
        logits.size(2) != vocab) {
      throw RuntimeFailure(
          fmt::format("masked denoiser returned logits of shape {}, expected [{}, {}, {}]",
                      shape_text(logits.sizes()), x_t.size(0), x_t.size(1), vocab));
    }
    logits = logits.to(at::kFloat).clone();
    logits.select(2, domain_.mask_id).fill_(-std::numeric_limits<float>::infinity());
    at::Tensor probs = logits.softmax(-1);
    at::Tensor known = at::one_hot(x_t.clamp(0, vocab - 1), vocab).to(at::kFloat);
    return at::where(x_t.eq(domain_.mask_id).unsqueeze(-1), probs, known);
  }

  Domain domain_;
  std::shared_ptr<MaskedDenoiser> denoiser_;
  MaskedDiffusionOptions options_;
  std::shared_ptr<const ExactDistribution> exact_;
};

}  // namespace

at::Tensor masked_diffusion_loss(MaskedDenoiser& denoiser, const at::Tensor& x0,
                                 const at::Tensor& t, int64_t mask_id, const at::Tensor& uniforms) {
  if (x0.dim() != 2 || t.dim() != 1 || t.size(0) != x0.size(0) || uniforms.sizes() != x0.sizes()) {
    throw RuntimeFailure(
        fmt::format("masked_diffusion_loss: x0 {}, t {} and uniforms {} do not fit",
                    shape_text(x0.sizes()), shape_text(t.sizes()), shape_text(uniforms.sizes())));
  }
  const at::Tensor tt = t.to(x0.device(), at::kFloat);
  at::Tensor masked = uniforms.to(x0.device()).lt(tt.unsqueeze(1));
  at::Tensor x_t = at::where(masked, at::full_like(x0, mask_id), x0);
  at::Tensor logits = denoiser.logits(x_t, tt);
  // The mask token is never a clean token.
  at::Tensor no_mask = at::zeros({logits.size(2)}, logits.options().requires_grad(false));
  no_mask[mask_id] = -std::numeric_limits<float>::infinity();
  at::Tensor log_p = (logits + no_mask).log_softmax(-1);
  at::Tensor nll = -log_p.gather(2, x0.unsqueeze(2)).squeeze(2);  // [B, L]
  return (nll * masked.to(nll.scalar_type())).sum(1) / tt;
}

at::Tensor masked_diffusion_elbo(MaskedDenoiser& denoiser, const at::Tensor& x0, int64_t mask_id,
                                 int64_t t_points, const std::vector<uint64_t>& row_seeds) {
  if (t_points < 1) throw InputError("masked_diffusion_elbo: t_points must be at least 1");
  const int64_t rows = x0.size(0), length = x0.size(1);
  if (static_cast<int64_t>(row_seeds.size()) != rows) {
    throw RuntimeFailure("masked_diffusion_elbo: one seed per row is needed");
  }
  // uniforms[k] [B, L]: row i's draws for grid point k, from its own stream.
  at::Tensor uniforms = at::empty({t_points, rows, length}, at::kFloat);
  for (int64_t i = 0; i < rows; ++i) {
    at::Generator g = at::make_generator<at::CPUGeneratorImpl>(row_seeds[i]);
    uniforms.select(1, i).uniform_(0, 1, g);
  }
  at::Tensor total = at::zeros({rows}, at::kDouble);
  for (int64_t k = 0; k < t_points; ++k) {
    const float t = (static_cast<float>(k) + 0.5f) / static_cast<float>(t_points);
    at::Tensor ts = at::full({rows}, t, at::kFloat);
    total +=
        masked_diffusion_loss(denoiser, x0, ts, mask_id, uniforms[k]).to(at::kCPU, at::kDouble);
  }
  return -total / static_cast<double>(t_points);
}

std::unique_ptr<DiffusionModel> make_masked_diffusion(
    Domain domain, std::shared_ptr<MaskedDenoiser> denoiser, MaskedDiffusionOptions options,
    std::shared_ptr<const ExactDistribution> exact) {
  return std::make_unique<MaskedDiffusion>(std::move(domain), std::move(denoiser),
                                           std::move(options), std::move(exact));
}

}  // namespace svdd
