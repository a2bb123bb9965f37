// torchscript_mdlm: a user's masked diffusion denoiser exported as
// TorchScript, driven by core's masked-diffusion family (MDLM, Sahoo et al.
// 2024, "Simple and Effective Masked Diffusion Language Models"), so that
// every method that works on tokens guides it. The module's
//   forward(tokens: int64 [B, L], time: float32 [B]) -> logits [B, L, V]
// gives the logits of x_0 for every position; V counts the tokens with the
// mask (its column is ignored) or without it (a column is added at the
// mask's index), as MDLM backbones output either. `time_input` says what
// the module takes as time: t in (0, 1], MDLM's log-linear noise level
// sigma(t) = -log(1 - (1 - eps) t), or nothing (forward(tokens)).
//
// The domain is declared in the table: its tokens (`alphabet`, one token per
// character, or `tokens`, a list), the mask's index among them and the
// sequence length; decoded samples join their tokens with `join`. Or it is
// named from a plugin (`domain = "sequence.dna"`, `"molecule.selfies"` with
// the module's `tokens`), so that the plugin's rewards, metrics and decoding
// (SELFIES to canonical SMILES) apply to the module's samples. The
// module is called once on a batch of two while the run is built, so that
// a wrong signature, output rank, length or vocabulary is refused before
// any work, naming what was expected and what the module gave.
#include <ATen/ATen.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <torch/script.h>

#include <cmath>
#include <set>

#include "decoding/chunking.hpp"
#include "svdd/error.hpp"
#include "svdd/families/masked_diffusion.hpp"
#include "svdd/registry.hpp"
#include "svdd/util/choices.hpp"
#include "svdd/util/torchscript_messages.hpp"

namespace svdd {
namespace {

struct TorchScriptMdlmParams {
  FilePath file;
  std::string domain;               // a domain a plugin names, or "" for the declared one
  std::string alphabet;             // one token per character, e.g. "ACGT"
  std::vector<std::string> tokens;  // or the tokens themselves
  int64_t mask_index = -1;          // -1: a mask token "[MASK]" after the tokens
  int64_t length = 0;
  std::string join;  // between tokens when a sample is decoded
  std::string time_input = "t";
  double eps = 1e-3;
  int steps = 128;

  void visit(ParamVisitor& v) {
    v.field("file", file,
            "a module written by torch.jit.save whose forward(tokens: Tensor[B, L] int64, time: "
            "Tensor[B] float32) -> Tensor[B, L, V] gives the logits of x_0");
    v.require(!file.path.empty(), "file", "is required");
    v.field("domain", domain,
            "a domain a plugin names (svdd list shows them: sequence.dna, molecule.selfies, ...) "
            "so that its rewards and metrics apply; \"\": the domain declared by the keys below");
    v.field("alphabet", alphabet, "the tokens, one per character (e.g. \"ACGT\"); or tokens");
    v.field("tokens", tokens, "the tokens as a list (e.g. [\"[C]\", \"[N]\"]); or alphabet");
    if (domain.empty()) {
      v.require(alphabet.empty() != tokens.empty(), "tokens",
                "give the tokens once: alphabet (one per character) or tokens (a list)");
    } else {
      v.require(alphabet.empty() || tokens.empty(), "tokens",
                "give the module's tokens once: alphabet or tokens");
    }
    v.field("mask_index", mask_index,
            "the mask token's index among the tokens; -1 adds a mask token after them");
    v.require(domain.empty() || mask_index == -1, "mask_index",
              "is the named domain's own (its mask comes after the tokens); leave it out");
    v.field("length", length, "L: tokens per sample");
    v.at_least("length", length, 1);
    v.at_most("length", length, 1'000'000);
    v.field("join", join, "what stands between tokens in a decoded sample (\"\": nothing)");
    v.field("time_input", time_input,
            "what the module takes as time: t in (0, 1], sigma = -log(1 - (1 - eps) t) (MDLM's "
            "log-linear noise level), or none (forward(tokens))");
    v.one_of("time_input", time_input, {"t", "sigma", "none"});
    v.field("eps", eps, "eps of sigma(t)");
    v.in_open_range("eps", eps, 0.0, 1.0);
    v.field("steps", steps, "T: reverse steps");
    v.at_least("steps", steps, 1);
  }

  // The tokens the table gives, without an added mask.
  std::vector<std::string> given_tokens() const {
    std::vector<std::string> out = tokens;
    if (out.empty()) {
      for (char c : alphabet) out.emplace_back(1, c);
    }
    return out;
  }
  // The declared domain's tokens, the mask among them.
  std::vector<std::string> vocabulary() const {
    std::vector<std::string> out = given_tokens();
    if (mask_index < 0) out.push_back("[MASK]");
    return out;
  }
};

Domain declared_domain(const TorchScriptMdlmParams& p) {
  Domain domain;
  domain.name = "torchscript_mdlm";
  domain.kind = Domain::Kind::discrete;
  domain.shape = {p.length};
  domain.alphabet = p.vocabulary();
  domain.vocab_size = static_cast<int64_t>(domain.alphabet.size());
  domain.mask_id = p.mask_index < 0 ? domain.vocab_size - 1 : p.mask_index;
  if (domain.mask_id >= domain.vocab_size) {
    throw InputError(fmt::format("torchscript_mdlm: mask_index {} is not one of the {} tokens",
                                 p.mask_index, domain.vocab_size));
  }
  if (std::set<std::string>(domain.alphabet.begin(), domain.alphabet.end()).size() !=
      domain.alphabet.size()) {
    throw InputError("torchscript_mdlm: the tokens repeat one another");
  }
  if (!p.join.empty()) {
    const std::string join = p.join;
    const auto alphabet = domain.alphabet;
    domain.decoder = [join, alphabet](const at::Tensor& x) {
      at::Tensor ids = x.to(at::kLong).reshape({x.size(0), -1});
      std::vector<std::string> out(ids.size(0));
      auto a = ids.accessor<int64_t, 2>();
      for (int64_t i = 0; i < ids.size(0); ++i) {
        for (int64_t l = 0; l < ids.size(1); ++l) {
          const int64_t id = a[i][l];
          out[i] += (l ? join : "") +
                    (id >= 0 && id < int64_t(alphabet.size()) ? alphabet[id] : std::string("?"));
        }
      }
      return out;
    };
  }
  return domain;
}

// The declared domain, or the one a plugin names for the module's length
// and tokens.
Domain model_domain(const TorchScriptMdlmParams& p, const BuildContext& build) {
  if (p.domain.empty()) return declared_domain(p);
  if (!build.make_domain) throw InputError("domain: named domains are not available here");
  Domain domain = build.make_domain(p.domain, {{p.length}, p.given_tokens()});
  if (!domain.discrete() || domain.shape != std::vector<int64_t>{p.length}) {
    throw InputError(
        fmt::format("domain: '{}' is not a domain of token rows [{}]", p.domain, p.length));
  }
  return domain;
}

class TorchScriptMdlm final : public MaskedDenoiser {
 public:
  TorchScriptMdlm(torch::jit::Module module, const TorchScriptMdlmParams& params,
                  const Domain& domain, torch::Device device)
      : module_(std::move(module)),
        file_(params.file.path.string()),
        time_input_(params.time_input),
        eps_(params.eps),
        vocab_(domain.vocab_size),
        mask_(domain.mask_id),
        device_(device) {}

  // x_t [B, L] int64 and t [B] -> logits [B, L, V] float32 on x_t's device,
  // with the mask's column added when the module leaves it out. Throws
  // RuntimeFailure when the module fails or answers with another shape.
  at::Tensor logits(const at::Tensor& x_t, const at::Tensor& t) override {
    const c10::IValue result = run_forward(module_, inputs(x_t, t), "torchscript_mdlm " + file_,
                                           "tokens " + shape_text(x_t.sizes()));
    const std::string problem = shape_problem(result, x_t.size(0), x_t.size(1));
    if (!problem.empty()) {
      throw RuntimeFailure(fmt::format("torchscript_mdlm {}: forward {}", file_, problem));
    }
    return with_mask_column(result.toTensor().to(x_t.device(), at::kFloat));
  }

  // The module's inputs for tokens x_t and times t.
  std::vector<c10::IValue> inputs(const at::Tensor& x_t, const at::Tensor& t) const {
    const at::Tensor tokens = x_t.to(device_, at::kLong);
    if (time_input_ == "none") return {tokens};
    at::Tensor time = t.to(device_, at::kFloat);
    if (time_input_ == "sigma") time = -at::log1p(-(1.0 - eps_) * time);
    return {tokens, time};
  }

  // "" when `result` is logits [B, L, V or V-1], else what it is instead.
  std::string shape_problem(const c10::IValue& result, int64_t rows, int64_t length) const {
    if (!result.isTensor()) return "returns a " + result.tagKind() + ", not a tensor";
    const at::Tensor& out = result.toTensor();
    if (out.dim() != 3) {
      return fmt::format("returns shape {} (rank {}), not logits [B, L, V]",
                         shape_text(out.sizes()), out.dim());
    }
    if (out.size(0) != rows || out.size(1) != length) {
      return fmt::format("returns shape {} for tokens [{}, {}]: expected [{}, {}, V]",
                         shape_text(out.sizes()), rows, length, rows, length);
    }
    if (out.size(2) != vocab_ && out.size(2) != vocab_ - 1) {
      return fmt::format(
          "returns {} logits per position; the table declares {} tokens with the mask (V = {}, "
          "or {} without the mask's column)",
          out.size(2), vocab_, vocab_, vocab_ - 1);
    }
    return "";
  }

 private:
  at::Tensor with_mask_column(const at::Tensor& out) const {
    if (out.size(2) == vocab_) return out;
    const at::Tensor column = at::full({out.size(0), out.size(1), 1}, -INFINITY, out.options());
    return at::cat({out.narrow(2, 0, mask_), column, out.narrow(2, mask_, vocab_ - 1 - mask_)}, 2);
  }

  torch::jit::Module module_;
  std::string file_;
  std::string time_input_;
  double eps_;
  int64_t vocab_, mask_;
  torch::Device device_;
};

std::unique_ptr<DiffusionModel> make_torchscript_mdlm(const TorchScriptMdlmParams& p,
                                                      const BuildContext& build) {
  const std::string file = p.file.path.string();
  const torch::Device device(build.device);
  const Domain domain = model_domain(p, build);
  const std::string expected = fmt::format(
      "forward(tokens: Tensor[B, {}] int64{}) -> Tensor[B, {}, {} or {}], the logits of x_0",
      p.length,
      p.time_input == "none" ? ""
                             : (p.time_input == "t" ? ", time: Tensor[B] float32 t in (0, 1]"
                                                    : ", time: Tensor[B] float32 sigma(t)"),
      p.length, domain.vocab_size, domain.vocab_size - 1);
  torch::jit::Module module = load_torchscript_module(file, device, expected);
  // A module is a handle: the denoiser and the probe below share it.
  auto denoiser = std::make_shared<TorchScriptMdlm>(module, p, domain, device);

  // One call on two all-masked rows at t = 1 and t = 0.5, before any work.
  const at::Tensor x = at::full({2, p.length}, domain.mask_id, at::kLong);
  probe_forward(module, denoiser->inputs(x, at::tensor({1.0f, 0.5f})), file, expected,
                fmt::format("tokens [2, {}]", p.length), [&](const c10::IValue& result) {
                  return denoiser->shape_problem(result, 2, p.length);
                });
  MaskedDiffusionOptions options;
  options.steps = p.steps;
  options.chunk_rows = build.chunk_rows;
  options.device = build.device;
  return make_masked_diffusion(domain, std::move(denoiser), options);
}

}  // namespace

void register_torchscript_mdlm(Registry& registry) {
  registry.add<ComponentKind::model, TorchScriptMdlmParams>(
      "torchscript_mdlm",
      "a masked diffusion denoiser of your own (TorchScript), for any token domain declared in "
      "the table",
      make_torchscript_mdlm);
}

}  // namespace svdd
