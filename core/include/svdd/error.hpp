// Errors of the framework. The CLI maps InputError to exit code 2 (the user
// can fix it: a bad TOML key, a missing file, an incompatible component) and
// everything else to exit code 1 (a bug or a failing component).
#pragma once

#include <stdexcept>
#include <string>

#include "svdd/export.hpp"

namespace svdd {

class SVDD_API Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Bad input: configuration, files, names, incompatible components.
class SVDD_API InputError : public Error {
 public:
  using Error::Error;
};

// A component failed while running (a throwing or NaN reward, a broken model).
class SVDD_API RuntimeFailure : public Error {
 public:
  using Error::Error;
};

// The one line a user sees for `error`: a libtorch error without the C++
// backtrace its what() carries (and of a TorchScript traceback only its last
// line), any other error with its line breaks folded.
SVDD_API std::string error_message(const std::exception& error);

}  // namespace svdd
