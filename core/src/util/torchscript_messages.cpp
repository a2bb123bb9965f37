#include "svdd/util/torchscript_messages.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <torch/script.h>

#include <cctype>
#include <vector>

#include "svdd/error.hpp"

namespace svdd {

// The gist of a libtorch error in one line: no C++ backtrace, and of a
// TorchScript traceback only its last line, the Python-style error itself.
std::string torchscript_error_line(const std::exception& error) {
  const auto* torch_error = dynamic_cast<const c10::Error*>(&error);
  std::string text = torch_error ? torch_error->what_without_backtrace() : error.what();
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.pop_back();
  const size_t last_break = text.rfind('\n');
  return last_break == std::string::npos ? text : text.substr(last_break + 1);
}

// The module's forward as Python would write it, e.g.
// "forward(x: Tensor, y: Tensor) -> Tensor", for messages.
std::string torchscript_forward_signature(const torch::jit::Module& module) {
  const auto forward = module.find_method("forward");
  if (!forward) return "a module without a forward method";
  const c10::FunctionSchema& schema = forward->function().getSchema();
  std::vector<std::string> arguments;
  for (const c10::Argument& argument : schema.arguments()) {
    if (argument.name() == "self") continue;
    arguments.push_back(fmt::format("{}: {}", argument.name(), argument.type()->annotation_str()));
  }
  std::vector<std::string> returns;
  for (const c10::Argument& result : schema.returns()) {
    returns.push_back(result.type()->annotation_str());
  }
  return fmt::format(
      "forward({}) -> {}", fmt::join(arguments, ", "),
      returns.size() == 1 ? returns[0] : fmt::format("({})", fmt::join(returns, ", ")));
}

torch::jit::Module load_torchscript_module(const std::string& file, const c10::Device& device,
                                           const std::string& expected) {
  torch::jit::Module module;
  try {
    module = torch::jit::load(file, device);
  } catch (const std::exception& error) {
    throw InputError(
        fmt::format("{}: cannot be loaded as a TorchScript module ({}); expected a file written by "
                    "torch.jit.save with {}",
                    file, torchscript_error_line(error), expected));
  }
  module.eval();
  for (at::Tensor parameter : module.parameters()) parameter.requires_grad_(false);
  return module;
}

void probe_forward(torch::jit::Module& module, const std::vector<c10::IValue>& inputs,
                   const std::string& file, const std::string& expected, const std::string& input,
                   const std::function<std::string(const c10::IValue&)>& problem) {
  at::NoGradGuard no_grad;
  const auto refuse = [&](const std::string& which) {
    return InputError(fmt::format("{}: expected {}; got {}, which {}", file, expected,
                                  torchscript_forward_signature(module), which));
  };
  c10::IValue result;
  try {
    result = module.forward(inputs);
  } catch (const std::exception& error) {
    throw refuse(fmt::format("fails on {}: {}", input, torchscript_error_line(error)));
  }
  if (const std::string what = problem(result); !what.empty()) throw refuse(what);
}

c10::IValue run_forward(torch::jit::Module& module, const std::vector<c10::IValue>& inputs,
                        const std::string& context, const std::string& input) {
  try {
    return module.forward(inputs);
  } catch (const std::exception& error) {
    throw RuntimeFailure(
        fmt::format("{}: forward failed on {}: {}", context, input, torchscript_error_line(error)));
  }
}

}  // namespace svdd
