// Progress display and the run log (see progress.hpp).
#include "run/progress.hpp"

#include <fmt/format.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <unistd.h>

#include <cstdio>

#include "svdd/util/log.hpp"

namespace svdd {

Progress::Progress(bool enabled) : tty_(enabled && isatty(STDERR_FILENO)) {}

void Progress::step(const std::string& label, int64_t batch, int64_t batches, int t, int steps) {
  if (!tty_) return;
  const auto now = std::chrono::steady_clock::now();
  if (t != 1 && now - last_ < std::chrono::milliseconds(100)) return;
  last_ = now;
  fmt::print(stderr, "\r\033[K{}: batch {}/{} step {}/{}", label, batch + 1, batches, steps - t + 1,
             steps);
  std::fflush(stderr);
}

void Progress::done() {
  if (tty_) fmt::print(stderr, "\r\033[K");
}

LogFile::LogFile(const std::filesystem::path& file)
    : sink_(std::make_shared<spdlog::sinks::basic_file_sink_mt>(file.string())) {
  add_log_sink(sink_);
}

LogFile::~LogFile() { remove_log_sink(sink_); }

}  // namespace svdd
