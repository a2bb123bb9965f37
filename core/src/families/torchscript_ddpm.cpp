// torchscript_ddpm (see torchscript_ddpm.hpp): a user's TorchScript denoiser
// wrapped as a GaussianDenoiser for core's DDPM/DDIM family (Ho et al. 2020;
// Song et al. 2021), with the domain declared by its shape or named from a
// plugin (domain = "image").
#include "svdd/families/torchscript_ddpm.hpp"

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <torch/script.h>

#include <cmath>
#include <fstream>
#include <sstream>

#include "decoding/chunking.hpp"
#include "run/result_files.hpp"
#include "svdd/error.hpp"
#include "svdd/util/torchscript_messages.hpp"

namespace svdd {
namespace {

class TorchScriptDenoiser final : public GaussianDenoiser {
 public:
  TorchScriptDenoiser(torch::jit::Module module, std::string who, std::string file,
                      std::string time_input, int train_steps, torch::Device device)
      : module_(std::move(module)),
        who_(std::move(who)),
        file_(std::move(file)),
        time_input_(std::move(time_input)),
        train_steps_(train_steps),
        device_(device) {}

  // x_t [B, ...] and t [B] in [1, N] -> the module's prediction [B, ...]
  // float32 on x_t's device. Throws RuntimeFailure when the module fails or
  // answers with another shape.
  at::Tensor predict(const at::Tensor& x_t, const at::Tensor& t) override {
    const c10::IValue result =
        run_forward(module_, inputs(x_t, t), who_ + " " + file_, "x " + shape_text(x_t.sizes()));
    if (const std::string problem = shape_problem(result, x_t.sizes()); !problem.empty()) {
      throw RuntimeFailure(fmt::format("{} {}: forward {}", who_, file_, problem));
    }
    return result.toTensor().to(x_t.device(), at::kFloat);
  }

  // The module's inputs for x_t and training timesteps t in [1, N].
  std::vector<c10::IValue> inputs(const at::Tensor& x_t, const at::Tensor& t) const {
    at::Tensor time = t.to(device_, at::kFloat);
    if (time_input_ == "index") time = time - 1.0;
    if (time_input_ == "fraction") time = time / double(train_steps_);
    return {x_t.to(device_, at::kFloat), time};
  }

  // "" when `result` is a tensor of x's shape, else what it is instead.
  static std::string shape_problem(const c10::IValue& result, at::IntArrayRef x) {
    if (!result.isTensor()) return "returns a " + result.tagKind() + ", not a tensor";
    if (result.toTensor().sizes() != x) {
      return fmt::format("returns shape {} for x {}", shape_text(result.toTensor().sizes()),
                         shape_text(x));
    }
    return "";
  }

 private:
  torch::jit::Module module_;
  std::string who_, file_, time_input_;
  int train_steps_;
  torch::Device device_;
};

std::string time_text(const std::string& time_input, int train_steps) {
  if (time_input == "index") return fmt::format("t - 1 in [0, {}]", train_steps - 1);
  if (time_input == "fraction") return "t / N in (0, 1]";
  return fmt::format("t in [1, {}]", train_steps);
}

struct TorchScriptDdpmParams {
  FilePath file;
  std::vector<int64_t> shape;
  std::string domain;
  std::string time_input = "step";
  FilePath alphas_cumprod;
  GaussianDiffusionOptions options{.steps = 50, .eta = 1.0};

  void visit(ParamVisitor& v) {
    v.field("file", file,
            "a module written by torch.jit.save whose forward(x: Tensor[B, ...shape], t: "
            "Tensor[B]) -> Tensor[B, ...shape] predicts the noise, x_0 or v (float32)");
    v.require(!file.path.empty(), "file", "is required");
    v.field("shape", shape, "one sample's shape, e.g. [3, 32, 32] or [16]");
    v.require(!shape.empty() && shape.size() <= 8, "shape", "needs 1 to 8 sizes");
    int64_t values = 1;
    for (int64_t size : shape) {
      v.require(size >= 1 && size <= 1'000'000, "shape", "sizes must be in [1, 1000000]");
      values = size >= 1 && size <= 1'000'000 ? std::min<int64_t>(values * size, 1'000'000'000) : 1;
    }
    v.require(values <= 100'000'000, "shape", "holds more than 1e8 values per sample");
    v.field("domain", domain,
            "a domain a plugin names (svdd list shows them: image, ...) so that its rewards, "
            "decoding and drawing apply; \"\": plain tensors of `shape`");
    v.field("time_input", time_input,
            "what the module takes as t: \"step\" (t in [1, N]), \"index\" (t - 1 in [0, N - 1], "
            "diffusers' timesteps) or \"fraction\" (t / N)");
    v.one_of("time_input", time_input, {"step", "index", "fraction"});
    visit_gaussian_training(v, options);
    v.field("alphas_cumprod", alphas_cumprod,
            "a text file of the training alpha-bar at timesteps 1..N (train_steps numbers, e.g. "
            "diffusers' scheduler.alphas_cumprod); replaces schedule, beta_start and beta_end");
    visit_gaussian_sampling(v, options);
  }
};

std::unique_ptr<DiffusionModel> make_from_table(const TorchScriptDdpmParams& p,
                                                const BuildContext& build) {
  Domain domain;
  if (p.domain.empty()) {
    domain.name = "torchscript_ddpm";
    domain.kind = Domain::Kind::continuous;
    domain.shape = p.shape;
  } else {
    if (!build.make_domain) throw InputError("domain: named domains are not available here");
    domain = build.make_domain(p.domain, {p.shape, {}});
    if (domain.discrete() || domain.shape != p.shape) {
      throw InputError(
          fmt::format("domain: '{}' is not a domain of tensors {}", p.domain, shape_text(p.shape)));
    }
  }
  GaussianDiffusionOptions options = p.options;
  if (!p.alphas_cumprod.path.empty()) {
    options.alphas_cumprod = read_alphas_cumprod(p.alphas_cumprod.path);
    if (static_cast<int>(options.alphas_cumprod.size()) != options.train_steps) {
      throw InputError(fmt::format("alphas_cumprod: {} holds {} values; train_steps = {}",
                                   p.alphas_cumprod.path.string(), options.alphas_cumprod.size(),
                                   options.train_steps));
    }
  }
  return make_torchscript_ddpm("torchscript_ddpm", p.file.path, std::move(domain), options,
                               p.time_input, build);
}

}  // namespace

std::vector<double> read_alphas_cumprod(const std::filesystem::path& file) {
  std::ifstream in(file);
  if (!in) throw InputError(fmt::format("alphas_cumprod: cannot read {}", file.string()));
  std::stringstream text;
  text << in.rdbuf();
  std::string all = text.str();
  for (char& c : all) {
    if (c == ',') c = ' ';
  }
  std::istringstream words(all);
  std::vector<double> out;
  std::string word;
  while (words >> word) {
    double value = 0;
    const auto where = [&] {
      return fmt::format("{}: value {} ('{}')", file.string(), out.size() + 1, word);
    };
    if (!parse_number(word, value) || !std::isfinite(value)) {
      throw InputError(fmt::format("alphas_cumprod: {} is not a number", where()));
    }
    if (value <= 0 || value > 1) {
      throw InputError(fmt::format("alphas_cumprod: {} is outside (0, 1]", where()));
    }
    if (!out.empty() && value > out.back()) {
      throw InputError(fmt::format(
          "alphas_cumprod: {} is larger than the one before it; alpha-bar falls with t", where()));
    }
    out.push_back(value);
  }
  if (out.empty())
    throw InputError(fmt::format("alphas_cumprod: {} holds no numbers", file.string()));
  return out;
}

std::unique_ptr<DiffusionModel> make_torchscript_ddpm(
    const std::string& who, const std::filesystem::path& path, Domain domain,
    GaussianDiffusionOptions options, const std::string& time_input, const BuildContext& build) {
  const std::string file = path.string();
  const torch::Device device(build.device);
  const std::string shape = fmt::format("{}", fmt::join(domain.shape, ", "));
  const std::string predicted = options.prediction == "x0"  ? "clean sample x_0"
                                : options.prediction == "v" ? "velocity v"
                                                            : "noise";
  const std::string expected = fmt::format(
      "forward(x: Tensor[B, {0}], t: Tensor[B]) -> Tensor[B, {0}], the predicted {1} at the "
      "float32 training timestep {2}",
      shape, predicted, time_text(time_input, options.train_steps));
  torch::jit::Module module = load_torchscript_module(file, device, expected);
  // A module is a handle: the denoiser and the probe below share it.
  auto denoiser = std::make_shared<TorchScriptDenoiser>(module, who, file, time_input,
                                                        options.train_steps, device);

  // One call on zeros [2, ...shape] at t = 1 and t = N, before any work.
  std::vector<int64_t> size{2};
  size.insert(size.end(), domain.shape.begin(), domain.shape.end());
  const at::Tensor x = at::zeros(size, at::kFloat);
  probe_forward(module, denoiser->inputs(x, at::tensor({1.0f, float(options.train_steps)})), file,
                expected, fmt::format("x {} and t [2]", shape_text(x.sizes())),
                [&](const c10::IValue& result) {
                  return TorchScriptDenoiser::shape_problem(result, x.sizes());
                });
  options.chunk_rows = build.chunk_rows;
  options.device = build.device;
  return make_gaussian_diffusion(std::move(domain), std::move(denoiser), std::move(options));
}

void register_torchscript_ddpm(Registry& registry) {
  registry.add<ComponentKind::model, TorchScriptDdpmParams>(
      "torchscript_ddpm",
      "a Gaussian diffusion denoiser of your own (TorchScript), for samples of any shape; DDPM "
      "schedule in the table or a file, sampled with DDIM",
      make_from_table);
}

}  // namespace svdd
