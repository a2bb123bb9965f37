// Ctrl-C (SIGINT) and kill (SIGTERM) while svdd works. The first such signal
// asks the work to stop at its next safe point (a decoding step or batch of
// a run, a step of training), where it keeps what has finished and says how
// to continue; a second ends the process at once, as it would without svdd.
// What is kept does not depend on which: finished batches and epochs are
// written as they finish.
#pragma once

#include <string>

#include "svdd/error.hpp"
#include "svdd/export.hpp"

namespace svdd {

// Installs the handlers (the CLI does, once, in main()).
SVDD_API void catch_stop_signals();

// The signal that asked to stop (SIGINT, SIGTERM), or 0.
SVDD_API int stop_requested();

// Thrown at a safe point after a stop signal; what() says what was kept and
// how to continue. The CLI exits with 128 + signal (130, 143), as a shell
// does for a process a signal ended.
class SVDD_API Stopped : public Error {
 public:
  Stopped(int signal, const std::string& what) : Error(what), signal_(signal) {}
  int signal() const { return signal_; }

 private:
  int signal_;
};

// Throws Stopped with `what` when a stop signal has arrived.
SVDD_API void stop_if_requested(const std::string& what);

// "SIGINT", "SIGTERM", ...
SVDD_API std::string signal_name(int signal);

}  // namespace svdd
