// image.torchscript_denoiser (see torchscript_denoiser.hpp).
#include "torchscript_denoiser.hpp"

#include "image_domain.hpp"
#include "svdd/families/torchscript_ddpm.hpp"
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
            "noise (x_0 or v) at the float32 training timestep t in [1, train_steps]");
    v.require(!file.path.empty(), "file", "is required");
    shape.visit(v);
    visit_gaussian_training(v, options);
    visit_gaussian_sampling(v, options);
  }
};

}  // namespace

void register_torchscript_denoiser(Registry& registry) {
  registry.add<svdd::ComponentKind::model, TorchScriptDenoiserParams>(
      "image.torchscript_denoiser",
      "torchscript_ddpm over images (domain = \"image\") under its first name and keys: "
      "channels, height, width; t in [1, N]; samples are images in [-1, 1]",
      [](const TorchScriptDenoiserParams& p, const BuildContext& build) {
        return make_torchscript_ddpm("image.torchscript_denoiser", p.file.path,
                                     image_domain(p.shape.channels, p.shape.height, p.shape.width),
                                     p.options, "step", build);
      });
}

}  // namespace svdd::image
