// Private: what a person watching a run sees: a one-line progress display on
// a terminal, and the run's log file.
#pragma once

#include <spdlog/sinks/sink.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>

namespace svdd {

// "label: batch b/B step s/T" on stderr, redrawn at most every 100 ms, only
// when stderr is a terminal and `enabled`.
class Progress {
 public:
  explicit Progress(bool enabled);
  void step(const std::string& label, int64_t batch, int64_t batches, int t, int steps);
  // Clears the line.
  void done();

 private:
  bool tty_;
  std::chrono::steady_clock::time_point last_{};
};

// Adds `file` (run.log) to every svdd logger for the lifetime of the object.
class LogFile {
 public:
  explicit LogFile(const std::filesystem::path& file);
  ~LogFile();
  LogFile(const LogFile&) = delete;
  LogFile& operator=(const LogFile&) = delete;

 private:
  spdlog::sink_ptr sink_;
};

}  // namespace svdd
