// The time stamp of cards and run configurations (file_writing.hpp).
#include "io/file_writing.hpp"

#include <ctime>

namespace svdd {

std::string utc_now_text() {
  std::time_t t = std::time(nullptr);
  char buffer[64];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buffer;
}

}  // namespace svdd
