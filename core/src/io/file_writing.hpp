// Private: writing result files so that an interruption never leaves half a
// file, and the time stamp cards carry.
#pragma once

#include <filesystem>
#include <string>

namespace svdd {

// Calls write(tmp) on a temporary path beside `file`, then renames it over
// `file`.
template <class F>
void write_atomically(const std::filesystem::path& file, F&& write) {
  auto tmp = file;
  tmp += ".tmp";
  write(tmp);
  std::filesystem::rename(tmp, file);
}

// The current UTC time as "YYYY-MM-DDTHH:MM:SSZ".
std::string utc_now_text();

}  // namespace svdd
