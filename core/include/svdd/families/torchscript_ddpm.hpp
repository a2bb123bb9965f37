// torchscript_ddpm: a user's Gaussian denoiser exported as TorchScript
// (torch.jit.script or torch.jit.trace, written by torch.jit.save), driven by
// core's Gaussian DDPM/DDIM family (gaussian_diffusion.hpp) for samples of
// any shape. The module's
//   forward(x: float32 [B, ...shape], t: float32 [B]) -> float32 [B, ...shape]
// predicts the noise, x_0 or v at training timestep t, given as
// `time_input` says: "step", t in [1, N] (svdd's own networks); "index",
// t - 1 in [0, N - 1] (diffusers' timesteps, alphas_cumprod[t - 1]); or
// "fraction", t / N in (0, 1]. The module is called once on a batch of two
// while the run is built, so a wrong signature or output shape is refused
// before any work. Autograd runs through it whenever the caller's grad mode
// is on and x_t requires gradients (DPS differentiates x0_hat(x_t)); its
// weights are frozen, so such gradients reach x_t only.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "svdd/families/gaussian_diffusion.hpp"
#include "svdd/registry.hpp"

namespace svdd {

// The model of `file` over `domain` (continuous, samples of domain.shape).
// `who` names the component in messages (e.g. "torchscript_ddpm").
// options.chunk_rows and options.device are taken from `build`.
SVDD_API std::unique_ptr<DiffusionModel> make_torchscript_ddpm(
    const std::string& who, const std::filesystem::path& file, Domain domain,
    GaussianDiffusionOptions options, const std::string& time_input, const BuildContext& build);

// The training alpha-bar written in a text file: train_steps numbers in
// (0, 1], non-increasing, separated by white space or commas (e.g. from
// diffusers: "\n".join(map(str, scheduler.alphas_cumprod.tolist()))).
// InputError naming the file and the first bad number otherwise.
SVDD_API std::vector<double> read_alphas_cumprod(const std::filesystem::path& file);

}  // namespace svdd
