// Private: writing result files so that an interruption never leaves half a
// file, and the time stamp cards carry.
#pragma once

#include <filesystem>
#include <fstream>
#include <string>

namespace svdd {

// Calls write(tmp) on a temporary path beside `file`, then renames it over
// `file`; a write that throws leaves no temporary file behind.
template <class F>
void write_atomically(const std::filesystem::path& file, F&& write) {
  auto tmp = file;
  tmp += ".tmp";
  try {
    write(tmp);
    std::filesystem::rename(tmp, file);
  } catch (...) {
    std::error_code ignored;
    std::filesystem::remove(tmp, ignored);
    throw;
  }
}

// Writes `bytes` to `file` atomically (write_atomically); throws
// RuntimeFailure "cannot write FILE: REASON" when it cannot.
void write_file_atomically(const std::filesystem::path& file, const std::string& bytes);

// Closes `out` (written to `file`) and throws RuntimeFailure "cannot write
// FILE: REASON" (the system's reason: "No space left on device") when any
// write or the close failed.
void finish_writing(std::ofstream& out, const std::filesystem::path& file);

// The same for a stream that stays open: flushes and checks.
void check_flushed(std::ostream& out, const std::filesystem::path& file);

// Creates `dir` and its parents to write results in, or throws InputError
// "output folder DIR: REASON" before any work: a file in the way, a name
// too long, no permission, a read-only file system.
void make_output_folder(const std::filesystem::path& dir);

// Checks that the output file `file` can be written: it is not a folder,
// its folder can be made (as make_output_folder) and a file of its name can
// be created there; throws InputError "output file FILE: REASON". Leaves no
// file behind.
void check_output_file(const std::filesystem::path& file);

// `path` as errors show it: a path of thousands of characters is cut in the
// middle.
std::string shown_path(const std::filesystem::path& path);

// The current UTC time as "YYYY-MM-DDTHH:MM:SSZ".
std::string utc_now_text();

}  // namespace svdd
