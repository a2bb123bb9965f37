// What every fuzz target shares: fuzz bytes as a file for readers that take
// a path, and the rule that tells a refused input from a finding.
//
// A reader that throws svdd::Error (InputError, RuntimeFailure) refused the
// input with a message: the outcome we want for bad input. Anything else is
// a finding and stops libFuzzer, which saves the input: a crash or a
// sanitizer report, a hang (-timeout), running out of memory (-rss_limit_mb),
// a failed check of the target's own (check_that), or an exception of
// another type escaping (std::out_of_range from map::at, say), which
// std::terminate turns into an abort.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "svdd/error.hpp"

namespace svdd::fuzz {

// The fuzz bytes as text.
inline std::string_view bytes_of(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// Writes `bytes` to `name` in this process's scratch folder (made on first
// use, removed at exit) and returns its path. The same name is overwritten
// by the next input.
std::filesystem::path scratch_file(const std::string& name, std::string_view bytes);
// The same, gzip-compressed.
std::filesystem::path scratch_gzip_file(const std::string& name, std::string_view bytes);

// Runs `read`; a thrown svdd::Error is a refused input and returns false.
template <class Read>
bool accepted(Read&& read) {
  try {
    read();
    return true;
  } catch (const svdd::Error&) {
    return false;
  }
}

// A property of the target's own; a false one prints `what` and aborts.
void check_that(bool ok, const char* what);

}  // namespace svdd::fuzz
