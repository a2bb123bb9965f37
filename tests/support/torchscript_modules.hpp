// TorchScript masked-diffusion denoisers written from C++ (no Python needed):
// torch::jit::Module::define compiles the forward, save() writes the file a
// user's torch.jit.save would.
#pragma once

#include <filesystem>
#include <string>

#include "svdd/diffusion_model.hpp"

namespace svdd::test {

// The exact denoiser of a discrete toy: p(x_0 | x_t) of its support points
// (exact.quadrature(): every string and its log-mass), marginalised per
// position, as logits [B, L, vocab] without the mask's column (ids of the
// mask, `mask_id`, match any token). forward(tokens, time) ignores time.
std::filesystem::path write_exact_mdlm(const std::filesystem::path& file,
                                       const ExactDistribution& exact, int64_t vocab,
                                       int64_t mask_id);

// A module of forward `signature` (e.g. "tokens: Tensor, time: Tensor")
// whose body is `body` (TorchScript, indented by four spaces per line).
std::filesystem::path write_module(const std::filesystem::path& file, const std::string& signature,
                                   const std::string& body);

}  // namespace svdd::test
