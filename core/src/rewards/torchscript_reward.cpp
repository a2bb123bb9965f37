// torchscript_reward: a TorchScript module exported from Python as the reward,
// for any domain. The module's forward(x: Tensor) -> Tensor gives one score
// per sample of the batch x:
//   continuous domains: the samples as they are, float32 [B, ...shape];
//   discrete domains:   one-hot float32 [B, L, V] of the token ids (V counts
//                       the mask token), or the probabilities [B, L, V] that
//                       DPS and classifier guidance score (guidance_gradient.hpp)
//                       as they are, so a module written for one-hot input is
//                       differentiable on tokens too.
// Gradients flow through the module whenever the samples require them.
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <torch/script.h>

#include <cctype>
#include <cmath>
#include <optional>
#include <tuple>

#include "decoding/chunking.hpp"
#include "svdd/error.hpp"
#include "svdd/registry.hpp"
#include "svdd/util/log.hpp"
#include "svdd/util/torchscript_messages.hpp"

namespace svdd {
namespace {

struct TorchScriptRewardParams {
  FilePath file;
  bool differentiable = true;
  double invalid_value = 0.0;
  void visit(ParamVisitor& v) {
    v.field("file", file,
            "a module written by torch.jit.save (of torch.jit.script or torch.jit.trace) whose "
            "forward(x: Tensor) -> Tensor gives one score per sample ([B] or [B, 1]); x is float32 "
            "[B, ...shape] on continuous domains and one-hot float32 [B, L, V] on discrete ones");
    v.require(!file.path.empty(), "file", "is required");
    v.field("differentiable", differentiable,
            "whether DPS and classifier guidance may take gradients through the module (false for "
            "one that rounds, thresholds or otherwise has no useful gradient)");
    v.field("invalid_value", invalid_value,
            "the score of an invalid sample (a non-finite value, a token id outside the "
            "vocabulary) and of a non-finite module output. 0 by default, neutral for a reward "
            "that is positive; set it below every valid score when scores can be negative, so "
            "that guidance never prefers an invalid sample");
    v.require(std::isfinite(invalid_value), "invalid_value",
              "must be finite (core treats NaN as a failing reward, and -inf breaks averages)");
  }
};

bool is_score_shape(const at::Tensor& scores, int64_t rows) {
  return (scores.dim() == 1 && scores.size(0) == rows) ||
         (scores.dim() == 2 && scores.size(0) == rows && scores.size(1) == 1);
}

// Rows [B, ...] -> [B] bool: every value of the row finite.
at::Tensor finite_rows(const at::Tensor& x) {
  return at::isfinite(x.detach()).reshape({x.size(0), -1}).all(1);
}

// `keep` [B] bool broadcast over the trailing dimensions of x: x's row where
// keep, zeros elsewhere, so that an invalid row never reaches the module (nor
// the other rows' gradients).
at::Tensor zero_rows_unless(const at::Tensor& keep, const at::Tensor& x) {
  std::vector<int64_t> shape(x.dim(), 1);
  shape[0] = x.size(0);
  return at::where(keep.view(shape), x, at::zeros_like(x));
}

class TorchScriptReward final : public RewardOracle {
 public:
  TorchScriptReward(torch::jit::Module module, std::string file, const Domain& domain,
                    const TorchScriptRewardParams& params, torch::Device device, int64_t chunk_rows)
      : module_(std::move(module)),
        file_(std::move(file)),
        discrete_(domain.discrete()),
        vocab_size_(domain.vocab_size),
        differentiable_(params.differentiable),
        invalid_value_(params.invalid_value),
        device_(device),
        chunk_rows_(chunk_rows) {}

  // Samples [B, ...] of the domain -> [B] float64 on the CPU, with the graph
  // kept when the samples require gradients and the reward is differentiable.
  at::Tensor score(const Samples& samples) override {
    const at::Tensor& x = samples.tensor();
    if (x.size(0) == 0) return at::empty({0}, at::kDouble);
    std::optional<at::NoGradGuard> no_grad;
    if (!differentiable_ || !x.requires_grad()) no_grad.emplace();
    at::Tensor input, valid;
    std::tie(input, valid) = module_input(x);
    at::Tensor scores = map_row_chunks(input.size(0), chunk_rows_, [&](int64_t begin, int64_t end) {
      return forward_rows(input.slice(0, begin, end));
    });
    scores = scores.to(at::kCPU, at::kDouble);
    const at::Tensor finite = at::isfinite(scores.detach());
    valid = valid.to(at::kCPU);
    // A valid sample the module scores NaN or infinity is a numeric failure
    // (an invalid sample is not): a few are an overflow on outliers and get
    // invalid_value, reported once (guidance scores thousands of candidates,
    // and the log would flood); most of a call is a broken module and stops
    // the run.
    const int64_t non_finite = (valid & ~finite).sum().item<int64_t>();
    check_numeric_failures(fmt::format("torchscript_reward {}", file_), non_finite, x.size(0));
    if (non_finite > 0 && !warned_non_finite_) {
      warned_non_finite_ = true;
      logger("core")->warn(
          "torchscript_reward {}: {} of {} valid samples scored NaN or infinity; such samples get "
          "invalid_value = {} (reported once)",
          file_, non_finite, x.size(0), invalid_value_);
    }
    return at::where(valid & finite, scores, at::full_like(scores, invalid_value_));
  }

  bool differentiable() const override { return differentiable_; }
  double invalid_value() const override { return invalid_value_; }

 private:
  // What the module sees, on its device, and which rows are valid [B] bool.
  std::pair<at::Tensor, at::Tensor> module_input(const at::Tensor& x) const {
    if (!discrete_) {
      const at::Tensor valid = finite_rows(x);
      return {zero_rows_unless(valid.to(device_), x.to(device_, at::kFloat)), valid};
    }
    if (x.is_floating_point()) {
      if (x.dim() != 3 || x.size(2) != vocab_size_) {
        throw RuntimeFailure(fmt::format(
            "torchscript_reward {}: probabilities must be [B, L, {}] for this domain, got {}",
            file_, vocab_size_, shape_text(x.sizes())));
      }
      const at::Tensor valid = finite_rows(x);
      return {zero_rows_unless(valid.to(device_), x.to(device_, at::kFloat)), valid};
    }
    const at::Tensor ids = x.to(device_, at::kLong);
    const at::Tensor valid = (ids.ge(0) & ids.lt(vocab_size_)).reshape({ids.size(0), -1}).all(1);
    return {at::one_hot(ids.clamp(0, vocab_size_ - 1), vocab_size_).to(at::kFloat), valid};
  }

  at::Tensor forward_rows(const at::Tensor& rows) {
    const c10::IValue result = run_forward(module_, {rows}, "torchscript_reward " + file_,
                                           "a batch " + shape_text(rows.sizes()));
    if (!result.isTensor() || !is_score_shape(result.toTensor(), rows.size(0))) {
      throw RuntimeFailure(fmt::format(
          "torchscript_reward {}: forward returned {} for a batch {}, expected one score per "
          "sample",
          file_, result.isTensor() ? shape_text(result.toTensor().sizes()) : result.tagKind(),
          shape_text(rows.sizes())));
    }
    return result.toTensor().reshape({rows.size(0)});
  }

  torch::jit::Module module_;
  std::string file_;
  bool discrete_;
  int64_t vocab_size_;
  bool differentiable_;
  double invalid_value_;
  torch::Device device_;
  int64_t chunk_rows_;
  bool warned_non_finite_ = false;
};

// Calls the module once on a batch of 2 so that a wrong signature or output
// is refused when the run is built, not after its first sampling steps.
// "" when a module's answer to a batch of `rows` is one score per sample,
// else what it is instead.
std::string score_problem(const c10::IValue& result, const at::Tensor& example) {
  if (!result.isTensor()) return "returns a " + result.tagKind();
  if (!is_score_shape(result.toTensor(), example.size(0))) {
    return fmt::format("returns shape {} for a batch {}", shape_text(result.toTensor().sizes()),
                       shape_text(example.sizes()));
  }
  return "";
}

std::unique_ptr<RewardOracle> make_torchscript_reward(const TorchScriptRewardParams& p,
                                                      const BuildContext& build,
                                                      const Domain& domain) {
  const std::string file = p.file.path.string();
  const torch::Device device(build.device);
  std::vector<int64_t> input_shape{2};
  std::string input_text;
  if (domain.discrete()) {
    input_shape.insert(input_shape.end(), domain.shape.begin(), domain.shape.end());
    input_shape.push_back(domain.vocab_size);
    input_text = fmt::format("Tensor[B, {}, {}] (one-hot tokens)", fmt::join(domain.shape, ", "),
                             domain.vocab_size);
  } else {
    input_shape.insert(input_shape.end(), domain.shape.begin(), domain.shape.end());
    input_text = fmt::format("Tensor[B, {}]", fmt::join(domain.shape, ", "));
  }
  const std::string expected = fmt::format(
      "forward(x: {}) -> Tensor[B] or Tensor[B, 1], one score per sample of domain '{}'",
      input_text, domain.name);
  torch::jit::Module module = load_torchscript_module(file, device, expected);
  at::Tensor example = at::zeros(input_shape, at::TensorOptions(device).dtype(at::kFloat));
  // Discrete modules see valid one-hot rows (token 0 everywhere), not zeros.
  if (domain.discrete()) example.select(-1, 0).fill_(1.0f);
  probe_forward(module, {example}, file, expected, "a batch " + shape_text(example.sizes()),
                [&](const c10::IValue& result) { return score_problem(result, example); });
  return std::make_unique<TorchScriptReward>(std::move(module), file, domain, p, device,
                                             build.chunk_rows);
}

}  // namespace

void register_torchscript_reward(Registry& registry) {
  registry.add<ComponentKind::reward, TorchScriptRewardParams>(
      "torchscript_reward",
      "a TorchScript module from Python (torch.jit.save) scoring each sample, any domain; "
      "differentiable for DPS and classifier guidance",
      make_torchscript_reward);
}

}  // namespace svdd
