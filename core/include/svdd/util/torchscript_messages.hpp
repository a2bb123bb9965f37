// Error messages about TorchScript modules exported from Python
// (torch.jit.save), shared by core's torchscript_reward and plugins'
// TorchScript models. <torch/script.h> stays out of this header: the module
// type is only declared.
#pragma once

#include <exception>
#include <string>

#include "svdd/export.hpp"

namespace torch::jit {
struct Module;
}

namespace svdd {

// The gist of a libtorch error in one line: no C++ backtrace, and of a
// TorchScript traceback only its last line, the Python-style error itself.
SVDD_API std::string torchscript_error_line(const std::exception& error);

// The module's forward as Python would write it, e.g.
// "forward(x: Tensor, y: Tensor) -> Tensor", for messages.
SVDD_API std::string torchscript_forward_signature(const torch::jit::Module& module);

}  // namespace svdd
