// Loading TorchScript modules exported from Python (torch.jit.save) and the
// error messages about them, shared by core's torchscript_reward and
// plugins' TorchScript models. <torch/script.h> stays out of this header: the module
// type is only declared.
#pragma once

#include <exception>
#include <functional>
#include <string>
#include <vector>

#include "svdd/export.hpp"

namespace torch::jit {
struct Module;
}
namespace c10 {
struct Device;
struct IValue;
}  // namespace c10

namespace svdd {

// The gist of a libtorch error in one line: no C++ backtrace, and of a
// TorchScript traceback only its last line, the Python-style error itself.
SVDD_API std::string torchscript_error_line(const std::exception& error);

// The module's forward as Python would write it, e.g.
// "forward(x: Tensor, y: Tensor) -> Tensor", for messages.
SVDD_API std::string torchscript_forward_signature(const torch::jit::Module& module);

// Loads `file` onto `device` for evaluation, its weights frozen (gradients
// reach the input, never the weights). A file that does not load is an
// InputError naming it, libtorch's reason in one line, and `expected` (the
// forward signature the caller wants).
SVDD_API torch::jit::Module load_torchscript_module(const std::string& file,
                                                    const c10::Device& device,
                                                    const std::string& expected);

// The one call a TorchScript component makes on a small example while the
// run is built, without gradients: module.forward(inputs), then
// `problem(result)` says what is wrong with the result ("" when nothing).
// A failure is one InputError "<file>: expected <expected>; got <forward's
// signature>, which fails on <input>: <error>" (`input` names the example,
// e.g. "tokens [2, 4]"), a problem "...; got <signature>, which <problem>".
SVDD_API void probe_forward(torch::jit::Module& module, const std::vector<c10::IValue>& inputs,
                            const std::string& file, const std::string& expected,
                            const std::string& input,
                            const std::function<std::string(const c10::IValue&)>& problem);

// module.forward(inputs) while a run samples or scores: a libtorch error
// becomes one RuntimeFailure "<context>: forward failed on <input>: <the
// error's line>", e.g. "torchscript_mdlm my.pt: forward failed on tokens
// [64, 200]: ...".
SVDD_API c10::IValue run_forward(torch::jit::Module& module, const std::vector<c10::IValue>& inputs,
                                 const std::string& context, const std::string& input);

}  // namespace svdd
