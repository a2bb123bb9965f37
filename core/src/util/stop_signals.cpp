// Stop signals: a flag set by the handler and read at safe points (see
// stop_signals.hpp).
#include "svdd/util/stop_signals.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <csignal>
#include <cstring>

namespace svdd {
namespace {

volatile std::sig_atomic_t requested_signal = 0;

extern "C" void on_stop_signal(int signal) {
  if (requested_signal != 0) {
    // The second signal: the default action, now.
    std::signal(signal, SIG_DFL);
    std::raise(signal);
    return;
  }
  requested_signal = signal;
  // write(2) is async-signal-safe; spdlog and fmt are not.
  static const char message[] =
      "\nsvdd: stopping at the next step, keeping what has finished (signal again to stop at "
      "once)\n";
  [[maybe_unused]] const auto written = ::write(STDERR_FILENO, message, sizeof message - 1);
}

}  // namespace

void catch_stop_signals() {
  struct sigaction action {};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;  // reads and writes in flight go on
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
}

int stop_requested() { return requested_signal; }

void stop_if_requested(const std::string& what) {
  if (const int signal = requested_signal) throw Stopped(signal, what);
}

std::string signal_name(int signal) {
  switch (signal) {
    case SIGINT:
      return "SIGINT";
    case SIGTERM:
      return "SIGTERM";
    default:
      return fmt::format("signal {}", signal);
  }
}

}  // namespace svdd
