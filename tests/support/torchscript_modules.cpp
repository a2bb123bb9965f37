// TorchScript denoisers for tests (see torchscript_modules.hpp).
#include "torchscript_modules.hpp"

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <torch/script.h>

namespace svdd::test {

std::filesystem::path write_exact_mdlm(const std::filesystem::path& file,
                                       const ExactDistribution& exact, int64_t vocab,
                                       int64_t mask_id) {
  const auto& q = exact.quadrature();
  const at::Tensor strings = q.points.to(at::kLong);  // [S, L]
  const int64_t count = strings.size(0), length = strings.size(1);
  torch::jit::Module module("ExactMdlm");
  module.register_buffer("strings", strings);
  module.register_buffer("log_mass", q.log_mass.to(at::kFloat));
  // one_hot[s, l * vocab + v] = 1 when string s has token v at l.
  module.register_buffer(
      "one_hot", at::one_hot(strings, vocab).to(at::kFloat).reshape({count, length * vocab}));
  module.define(fmt::format(R"(
def forward(self, tokens: Tensor, time: Tensor) -> Tensor:
    masked = tokens == {mask}
    match = (tokens.unsqueeze(1) == self.strings.unsqueeze(0)) | masked.unsqueeze(1)
    compatible = match.all(dim=2)
    floor = torch.full_like(self.log_mass, -1.0e30)
    weights = torch.softmax(torch.where(compatible, self.log_mass.unsqueeze(0), floor.unsqueeze(0)), dim=1)
    probs = torch.matmul(weights, self.one_hot).reshape(tokens.size(0), {length}, {vocab})
    return torch.log(probs + 1.0e-30)
)",
                            fmt::arg("mask", mask_id), fmt::arg("length", length),
                            fmt::arg("vocab", vocab)));
  module.save(file.string());
  return file;
}

std::filesystem::path write_module(const std::filesystem::path& file, const std::string& signature,
                                   const std::string& body) {
  torch::jit::Module module("TestModule");
  module.define(fmt::format("def forward(self, {}):\n{}\n", signature, body));
  module.save(file.string());
  return file;
}

}  // namespace svdd::test
