// The time stamp of cards and run configurations (file_writing.hpp).
#include "io/file_writing.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <ctime>

#include "svdd/error.hpp"

namespace svdd {

void check_flushed(std::ostream& out, const std::filesystem::path& file) {
  errno = 0;
  out.flush();
  if (!out) {
    throw RuntimeFailure(fmt::format("cannot write {}: {}", file.string(),
                                     errno ? std::strerror(errno) : "the stream failed"));
  }
}

void finish_writing(std::ofstream& out, const std::filesystem::path& file) {
  check_flushed(out, file);
  errno = 0;
  out.close();
  if (!out) {
    throw RuntimeFailure(fmt::format("cannot write {}: {}", file.string(),
                                     errno ? std::strerror(errno) : "the stream failed"));
  }
}

std::string utc_now_text() {
  std::time_t t = std::time(nullptr);
  char buffer[64];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buffer;
}

}  // namespace svdd
