// One line for any exception that reaches a user (see error.hpp).
#include <c10/util/Exception.h>

#include <cctype>

#include "svdd/error.hpp"

namespace svdd {

namespace {

std::string trimmed(std::string text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.pop_back();
  size_t first = 0;
  while (first < text.size() && std::isspace(static_cast<unsigned char>(text[first]))) ++first;
  return text.substr(first);
}

}  // namespace

std::string error_message(const std::exception& error) {
  if (const auto* torch_error = dynamic_cast<const c10::Error*>(&error)) {
    // what() appends 17-27 frames of C++ backtrace. Without them, a
    // TorchScript error is still a Python-style traceback whose last line is
    // the error itself.
    const std::string text = trimmed(torch_error->what_without_backtrace());
    const size_t last_break = text.rfind('\n');
    return last_break == std::string::npos ? text : trimmed(text.substr(last_break + 1));
  }
  std::string text = trimmed(error.what());
  for (char& c : text) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return text;
}

}  // namespace svdd
