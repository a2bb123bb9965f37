// image.torchscript_denoiser (see torchscript_denoiser.hpp): a user's
// TorchScript noise predictor wrapped as a GaussianDenoiser. The module is
// loaded once, checked on a batch of two before any run starts, and then
// called by core's Gaussian diffusion in chunks of chunk_rows. Autograd runs
// through it whenever the caller's grad mode is on and x_t requires
// gradients (DPS differentiates x0_hat(x_t) through the denoiser); its own
// weights are frozen, so that such gradients reach x_t only.
#include "torchscript_denoiser.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <torch/script.h>

#include <cctype>
#include <optional>

#include "gaussian_schedule.hpp"
#include "image_domain.hpp"
#include "svdd/error.hpp"
#include "svdd/util/torchscript_messages.hpp"
#include "time_unet.hpp"

namespace svdd::image {
namespace {

struct TorchScriptDenoiserParams {
  FilePath file;
  ImageShape shape;
  GaussianDiffusionOptions options{.steps = 50, .eta = 1.0, .clip_x0 = 1.0};
  void visit(ParamVisitor& v) {
    v.field("file", file,
            "a module written by torch.jit.save (of torch.jit.script or torch.jit.trace) whose "
            "forward(x_t: Tensor[B, C, H, W], t: Tensor[B]) -> Tensor[B, C, H, W] predicts the "
            "noise (or x_0) at the float32 training timestep t in [1, train_steps]");
    v.require(!file.path.empty(), "file", "is required");
    shape.visit(v);
    visit_training_schedule(v, options);
    visit_sampling(v, options);
  }
};

std::string shape_text(at::IntArrayRef sizes) {
  return fmt::format("[{}]", fmt::join(sizes, ", "));
}

class TorchScriptDenoiser final : public GaussianDenoiser {
 public:
  TorchScriptDenoiser(torch::jit::Module module, std::string file, torch::Device device)
      : module_(std::move(module)), file_(std::move(file)), device_(device) {}

  // x_t [B, C, H, W] and t [B] -> the module's prediction [B, C, H, W]
  // float32 on x_t's device. Throws RuntimeFailure when the module fails or
  // answers with another shape.
  at::Tensor predict(const at::Tensor& x_t, const at::Tensor& t) override {
    c10::IValue result;
    try {
      result = module_.forward({x_t.to(device_, at::kFloat), t.to(device_, at::kFloat)});
    } catch (const std::exception& error) {
      throw RuntimeFailure(
          fmt::format("image.torchscript_denoiser {}: forward failed on x_t {}: {}", file_,
                      shape_text(x_t.sizes()), torchscript_error_line(error)));
    }
    if (!result.isTensor() || result.toTensor().sizes() != x_t.sizes()) {
      throw RuntimeFailure(fmt::format(
          "image.torchscript_denoiser {}: forward returned {} for x_t {}", file_,
          result.isTensor() ? shape_text(result.toTensor().sizes()) : "a " + result.tagKind(),
          shape_text(x_t.sizes())));
    }
    return result.toTensor().to(x_t.device(), at::kFloat);
  }

 private:
  torch::jit::Module module_;
  std::string file_;
  torch::Device device_;
};

// Loads the module for evaluation with its weights frozen and calls it once
// on zeros [2, C, H, W] at t = 1 and t = N, so that a wrong signature or
// output shape is refused (InputError) while the run is being built.
torch::jit::Module load_checked(const std::string& file, const torch::Device& device,
                                const ImageShape& shape, const GaussianDiffusionOptions& options) {
  const std::string image = fmt::format("{}, {}, {}", shape.channels, shape.height, shape.width);
  const std::string expected = fmt::format(
      "forward(x_t: Tensor[B, {0}], t: Tensor[B]) -> Tensor[B, {0}], the predicted {1} at the "
      "float32 training timestep t in [1, {2}]",
      image, options.prediction == "x0" ? "clean image x_0" : "noise", options.train_steps);
  torch::jit::Module module = load_torchscript_module(file, device, expected);

  at::NoGradGuard no_grad;
  const at::TensorOptions on_device = at::TensorOptions(device).dtype(at::kFloat);
  const at::Tensor x = at::zeros({2, shape.channels, shape.height, shape.width}, on_device);
  const at::Tensor t = at::tensor({1.0f, float(options.train_steps)}, on_device);
  const auto refuse = [&](const std::string& what) {
    return InputError(fmt::format("{}: expected {}; got {}, {}", file, expected,
                                  torchscript_forward_signature(module), what));
  };
  c10::IValue result;
  try {
    result = module.forward({x, t});
  } catch (const std::exception& error) {
    throw refuse(fmt::format("which fails on x_t {} and t [2]: {}", shape_text(x.sizes()),
                             torchscript_error_line(error)));
  }
  if (!result.isTensor()) throw refuse("which returns a " + result.tagKind());
  if (result.toTensor().sizes() != x.sizes()) {
    throw refuse(fmt::format("which returns shape {} for x_t {}",
                             shape_text(result.toTensor().sizes()), shape_text(x.sizes())));
  }
  return module;
}

std::unique_ptr<DiffusionModel> make_torchscript_diffusion(const TorchScriptDenoiserParams& p,
                                                           const BuildContext& build) {
  const std::string file = p.file.path.string();
  const torch::Device device(build.device);
  auto denoiser = std::make_shared<TorchScriptDenoiser>(
      load_checked(file, device, p.shape, p.options), file, device);
  GaussianDiffusionOptions options = p.options;
  options.chunk_rows = build.chunk_rows;
  options.device = build.device;
  return make_gaussian_diffusion(image_domain(p.shape.channels, p.shape.height, p.shape.width),
                                 std::move(denoiser), options);
}

}  // namespace

void register_torchscript_denoiser(Registry& registry) {
  registry.add<svdd::ComponentKind::model, TorchScriptDenoiserParams>(
      "image.torchscript_denoiser",
      "Gaussian pixel diffusion (DDPM schedule written in the table, sampled with DDIM) with a "
      "TorchScript noise predictor exported from Python; samples are images in [-1, 1]",
      make_torchscript_diffusion);
}

}  // namespace svdd::image
