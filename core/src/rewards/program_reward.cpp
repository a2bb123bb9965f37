// program: a user's program as the reward, for any domain. svdd starts
// `workers` copies of `command` (an argument list, no shell) as persistent
// worker processes and talks to each over its standard input and output in
// a line protocol:
//   svdd -> worker:  a line with the count N, then N lines, one decoded
//                    sample each;
//   worker -> svdd:  N lines, one per sample in order: a number (the score),
//                    or a line starting with `invalid` (optionally followed
//                    by a reason) for a sample the program rejects.
// A batch is split into one contiguous chunk per worker, and the workers
// score their chunks at once. Decoded samples already scored are answered
// from a cache keyed by the decoded text.
//
// Failures never stop the run or block it past `timeout_seconds`: the
// samples a worker did not answer (it exited, crashed, hung, printed a line
// that is no answer) get `invalid_value`, the worker is killed and a fresh
// one is started for the next call, and the sample and the reason are
// logged (the first few of each kind, then a count). Only a program that
// cannot work at all stops the run: `failed_starts` worker starts in a row
// that end before a single answer (the program exits at start, every time)
// stop it with a RuntimeFailure naming the command.
//
// Workers run in their own process group, so a Ctrl-C at the terminal
// reaches svdd, which stops at its next step and destroys the reward; the
// destructor closes the workers' input, waits a moment and kills what is
// left. A worker also dies with svdd when svdd is killed (PR_SET_PDEATHSIG),
// and sees the end of its input when svdd is gone.
#include <ATen/ATen.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "svdd/error.hpp"
#include "svdd/registry.hpp"
#include "svdd/util/log.hpp"
#include "svdd/util/stop_signals.hpp"

extern char** environ;

namespace svdd {
namespace {

using Clock = std::chrono::steady_clock;

struct ProgramParams {
  std::vector<std::string> command;
  FilePath directory;
  int64_t workers = 1;
  double timeout_seconds = 60.0;
  double invalid_value = 0.0;
  bool cache = true;
  int64_t failed_starts = 3;
  void visit(ParamVisitor& v) {
    v.field("command", command,
            "the program and its arguments, e.g. [\"python3\", \"score.py\"] (no shell reads "
            "them); it reads a count line and that many sample lines from its standard input and "
            "prints one number (or `invalid ...`) per sample on its standard output");
    v.require(!command.empty() && !command[0].empty(), "command",
              "must name the program, e.g. [\"python3\", \"score.py\"]");
    v.field("directory", directory,
            "the folder the program starts in, relative to the experiment file (default: svdd's "
            "working directory); a program path with a '/' is relative to it");
    v.field("workers", workers, "worker processes scoring the chunks of a batch at once");
    v.at_least("workers", workers, 1);
    v.at_most("workers", workers, 256);
    v.field("timeout_seconds", timeout_seconds,
            "limit for a worker to answer its chunk of one batch (the first batch includes its "
            "start); the unanswered samples get invalid_value and the worker is restarted");
    v.positive("timeout_seconds", timeout_seconds);
    v.field("invalid_value", invalid_value,
            "the score of a sample the program marks invalid or fails on, and of an invalid "
            "sample of the domain (a masked token, a NaN value), which is never sent");
    v.require(std::isfinite(invalid_value), "invalid_value", "must be finite");
    v.field("cache", cache,
            "answer a decoded sample scored before from memory (off for a program whose score "
            "of a sample changes between calls)");
    v.field("failed_starts", failed_starts,
            "worker starts in a row that end before a single answer after which the run stops: "
            "the program cannot work");
    v.at_least("failed_starts", failed_starts, 1);
  }
};

std::string command_text(const std::vector<std::string>& command) {
  return fmt::format("{}", fmt::join(command, " "));
}

// A sample as a log line shows it.
std::string shown(const std::string& sample) {
  constexpr size_t kMost = 80;
  return sample.size() <= kMost ? sample : sample.substr(0, kMost) + "...";
}

std::string trimmed(std::string_view text) {
  const size_t begin = text.find_first_not_of(" \t\r\n");
  if (begin == std::string_view::npos) return "";
  const size_t end = text.find_last_not_of(" \t\r\n");
  return std::string(text.substr(begin, end - begin + 1));
}

// The executable `program` names: a path with a '/' (relative to
// `directory` when that is set), else the first match in PATH. Throws
// InputError naming `command` when there is none.
std::filesystem::path resolve_program(const std::string& program,
                                      const std::filesystem::path& directory) {
  const auto executable = [](const std::filesystem::path& p) {
    std::error_code ec;
    return std::filesystem::is_regular_file(p, ec) && access(p.c_str(), X_OK) == 0;
  };
  if (program.find('/') != std::string::npos) {
    std::filesystem::path path = program;
    if (path.is_relative() && !directory.empty()) path = directory / path;
    path = std::filesystem::absolute(path).lexically_normal();
    if (!executable(path)) {
      throw InputError(fmt::format("command: the program {} {}", path.string(),
                                   std::filesystem::exists(path)
                                       ? "is not an executable file (chmod +x, or name its "
                                         "interpreter first: [\"python3\", \"score.py\"])"
                                       : "does not exist"));
    }
    return path;
  }
  const char* search = std::getenv("PATH");
  std::string_view dirs = search ? search : "/usr/local/bin:/usr/bin:/bin";
  while (true) {
    const size_t colon = dirs.find(':');
    const std::string_view dir = dirs.substr(0, colon);
    const std::filesystem::path candidate =
        std::filesystem::path(dir.empty() ? "." : std::string(dir)) / program;
    if (executable(candidate)) return std::filesystem::absolute(candidate);
    if (colon == std::string_view::npos) break;
    dirs.remove_prefix(colon + 1);
  }
  throw InputError(fmt::format("command: program '{}' not found in PATH", program));
}

// Keeps a write to a pipe whose reader is gone from killing svdd: SIGPIPE is
// blocked on this thread while it lives, and one it raised is taken back.
// (svdd's signal dispositions stay as they are.)
class SigpipeGuard {
 public:
  SigpipeGuard() {
    sigset_t pipe_signal;
    sigemptyset(&pipe_signal);
    sigaddset(&pipe_signal, SIGPIPE);
    sigset_t pending;
    sigpending(&pending);
    was_pending_ = sigismember(&pending, SIGPIPE) == 1;
    pthread_sigmask(SIG_BLOCK, &pipe_signal, &old_mask_);
  }
  ~SigpipeGuard() {
    sigset_t pending;
    sigpending(&pending);
    if (!was_pending_ && sigismember(&pending, SIGPIPE) == 1) {
      sigset_t pipe_signal;
      sigemptyset(&pipe_signal);
      sigaddset(&pipe_signal, SIGPIPE);
      const timespec now{0, 0};
      sigtimedwait(&pipe_signal, nullptr, &now);
    }
    pthread_sigmask(SIG_SETMASK, &old_mask_, nullptr);
  }
  SigpipeGuard(const SigpipeGuard&) = delete;
  SigpipeGuard& operator=(const SigpipeGuard&) = delete;

 private:
  sigset_t old_mask_;
  bool was_pending_ = false;
};

void close_fd(int& fd) {
  if (fd >= 0) close(fd);
  fd = -1;
}

std::string wait_status_text(int status) {
  if (WIFEXITED(status)) return fmt::format("exited with code {}", WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    return fmt::format("was killed by signal {} ({})", WTERMSIG(status),
                       strsignal(WTERMSIG(status)));
  }
  return "ended";
}

// One worker process with pipes to its standard input, output and error.
class Worker {
 public:
  Worker() = default;
  ~Worker() { kill_now(); }
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  bool running() const { return pid_ > 0; }
  int input() const { return in_; }
  int output() const { return out_; }
  int errors() const { return err_; }
  pid_t pid() const { return pid_; }
  // Answers since this process started; 0 when it ends means a failed start.
  int64_t answers = 0;
  // Bytes of output not yet split into lines.
  std::string pending_output;

  // Starts the program; returns "" or why it could not start.
  std::string start(const std::filesystem::path& program, const std::vector<std::string>& command,
                    const std::filesystem::path& directory) {
    kill_now();
    int to_child[2], from_child[2], errors_of_child[2], exec_status[2];
    // O_CLOEXEC: other workers' children must not inherit these ends, or the
    // end of this worker's input or output would wait for them.
    if (pipe2(to_child, O_CLOEXEC) != 0) return std::strerror(errno);
    if (pipe2(from_child, O_CLOEXEC) != 0 || pipe2(errors_of_child, O_CLOEXEC) != 0 ||
        pipe2(exec_status, O_CLOEXEC) != 0) {
      return std::strerror(errno);  // (a process out of descriptors: leaks a few)
    }
    // Everything the child needs is made before fork: after it, only
    // async-signal-safe calls.
    std::vector<char*> argv;
    for (const std::string& a : command) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    const std::string program_path = program.string();
    const std::string start_dir = directory.string();
    const pid_t parent = getpid();
    const pid_t pid = fork();
    if (pid < 0) {
      const std::string why = std::strerror(errno);
      for (int fd : {to_child[0], to_child[1], from_child[0], from_child[1], errors_of_child[0],
                     errors_of_child[1], exec_status[0], exec_status[1]}) {
        close(fd);
      }
      return why;
    }
    if (pid == 0) {
      setpgid(0, 0);
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (getppid() != parent) _exit(127);  // svdd died before prctl
      struct sigaction default_action {};
      default_action.sa_handler = SIG_DFL;
      for (int s : {SIGPIPE, SIGINT, SIGTERM}) sigaction(s, &default_action, nullptr);
      sigset_t none;
      sigemptyset(&none);
      sigprocmask(SIG_SETMASK, &none, nullptr);
      dup2(to_child[0], STDIN_FILENO);
      dup2(from_child[1], STDOUT_FILENO);
      dup2(errors_of_child[1], STDERR_FILENO);
      if (!start_dir.empty() && chdir(start_dir.c_str()) != 0) {
        const int error = errno;
        [[maybe_unused]] auto n = write(exec_status[1], &error, sizeof error);
        _exit(127);
      }
      execve(program_path.c_str(), argv.data(), environ);
      const int error = errno;
      [[maybe_unused]] auto n = write(exec_status[1], &error, sizeof error);
      _exit(127);
    }
    setpgid(pid, pid);  // also here, so that it holds before any kill(-pid)
    close(to_child[0]);
    close(from_child[1]);
    close(errors_of_child[1]);
    close(exec_status[1]);
    int exec_error = 0;
    ssize_t got;
    do {
      got = read(exec_status[0], &exec_error, sizeof exec_error);
    } while (got < 0 && errno == EINTR);
    close(exec_status[0]);
    pid_ = pid;
    in_ = to_child[1];
    out_ = from_child[0];
    err_ = errors_of_child[0];
    for (int fd : {in_, out_, err_}) fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    answers = 0;
    pending_output.clear();
    stderr_tail_.clear();
    if (got == static_cast<ssize_t>(sizeof exec_error)) {
      kill_now();
      return std::strerror(exec_error);
    }
    return "";
  }

  // Whether the process has ended (without reaping it).
  bool ended() const {
    if (!running()) return true;
    siginfo_t info{};
    return waitid(P_PID, pid_, &info, WEXITED | WNOHANG | WNOWAIT) == 0 && info.si_pid == pid_;
  }

  // Kills the process group, reaps the process and closes the pipes; returns
  // how it ended ("" when no process ran).
  std::string kill_now() {
    close_fd(in_);
    close_fd(out_);
    close_fd(err_);
    if (!running()) return "";
    // The leader is not reaped yet, so its group id cannot name another
    // group: the kill takes whatever the program started too.
    kill(-pid_, SIGKILL);
    int status = 0;
    while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
    return wait_status_text(status);
  }

  // Reaps a process that ended by itself, or kills it after `grace`: how it
  // ended.
  std::string finish(std::chrono::milliseconds grace) {
    const auto until = Clock::now() + grace;
    while (!ended() && Clock::now() < until) usleep(2000);
    const bool by_itself = ended();
    const std::string how = kill_now();
    return by_itself ? how : "stopped answering (killed)";
  }

  void stop_writing() { close_fd(in_); }

  // Reads what the program wrote to its standard error (kept for messages,
  // logged at debug level). Returns false at its end.
  bool read_errors(const std::string& label) {
    char buffer[4096];
    const ssize_t n = read(err_, buffer, sizeof buffer);
    if (n == 0) {
      close_fd(err_);
      return false;
    }
    if (n < 0) return true;  // EAGAIN, EINTR
    stderr_tail_.append(buffer, static_cast<size_t>(n));
    size_t line_end;
    while ((line_end = stderr_tail_.find('\n')) != std::string::npos &&
           line_end + 1 < stderr_tail_.size()) {
      logger("core")->debug("{} stderr: {}", label, stderr_tail_.substr(0, line_end));
      stderr_tail_.erase(0, line_end + 1);
    }
    constexpr size_t kKeep = 4096;
    if (stderr_tail_.size() > kKeep) stderr_tail_.erase(0, stderr_tail_.size() - kKeep);
    return true;
  }

  // The last line the program wrote to its standard error, or "".
  std::string last_error_line() const {
    std::string text = trimmed(stderr_tail_);
    const size_t cut = text.rfind('\n');
    if (cut != std::string::npos) text = trimmed(text.substr(cut + 1));
    return text.size() > 200 ? text.substr(0, 200) + "..." : text;
  }

 private:
  pid_t pid_ = -1;
  int in_ = -1, out_ = -1, err_ = -1;
  std::string stderr_tail_;
};

// What one line of a worker's answer says.
struct Answer {
  enum class Kind { score, marked_invalid, not_finite, garbage };
  Kind kind = Kind::garbage;
  double value = 0.0;
  std::string reason;
};

Answer parse_answer(const std::string& raw) {
  const std::string line = trimmed(raw);
  if (line.starts_with("invalid")) {
    std::string reason = trimmed(std::string_view(line).substr(7));
    if (reason.starts_with(':')) reason = trimmed(reason.substr(1));
    return {Answer::Kind::marked_invalid, 0.0,
            reason.empty() ? "the program marked it invalid"
                           : fmt::format("the program marked it invalid: {}", reason)};
  }
  if (!line.empty()) {
    char* end = nullptr;
    const double value = std::strtod(line.c_str(), &end);
    if (end == line.c_str() + line.size()) {
      if (std::isfinite(value)) return {Answer::Kind::score, value, ""};
      return {Answer::Kind::not_finite, 0.0, fmt::format("the program printed '{}'", line)};
    }
  }
  return {Answer::Kind::garbage, 0.0,
          fmt::format("the program printed '{}', which is neither a number nor `invalid ...`",
                      shown(line))};
}

// The kinds of failure, each logged the first few times and then counted.
enum class Failure {
  marked_invalid,
  not_finite,
  line_break,
  garbage,
  ended,
  timed_out,
  not_started
};
constexpr std::array<const char*, 7> kFailureNames = {"samples the program marked invalid",
                                                      "non-finite answers",
                                                      "samples holding a line break",
                                                      "answers that were no number",
                                                      "samples a worker ended before answering",
                                                      "samples a worker did not answer in time",
                                                      "samples no worker could start for"};

// A worker's part of one call: the samples it was sent and how far it got.
struct Exchange {
  Worker* worker = nullptr;
  size_t index = 0;           // the worker's number, for messages
  std::vector<size_t> items;  // positions in the call's list of samples to score
  std::string request;        // the count line and the sample lines
  size_t written = 0;         // bytes of request written
  size_t answered = 0;        // items answered so far
  bool done = false;
  std::optional<Failure> failure;  // why the unanswered items get invalid_value
  std::string reason;
};

class ProgramReward final : public RewardOracle {
 public:
  ProgramReward(const ProgramParams& params, const Domain& domain)
      : params_(params),
        domain_(domain),
        label_(fmt::format("program [{}]", command_text(params.command))),
        program_(resolve_program(params.command[0], params.directory.path)),
        workers_(static_cast<size_t>(params.workers)) {
    for (auto& w : workers_) w = std::make_unique<Worker>();
  }

  ~ProgramReward() override {
    // Closing a worker's input is its sign to end; what is still there after
    // a moment is killed, with whatever it started.
    for (auto& w : workers_) w->stop_writing();
    const auto until = Clock::now() + std::chrono::milliseconds(500);
    for (auto& w : workers_) {
      while (!w->ended() && Clock::now() < until) usleep(2000);
      w->kill_now();
    }
    report_totals();
  }

  ProgramReward(const ProgramReward&) = delete;
  ProgramReward& operator=(const ProgramReward&) = delete;

  double invalid_value() const override { return params_.invalid_value; }

  // [B] float64 CPU, one score per sample.
  at::Tensor score(const Samples& samples) override {
    std::lock_guard lock(mutex_);
    const int64_t n = samples.size();
    at::Tensor out = at::full({n}, params_.invalid_value, at::kDouble);
    if (n == 0) return out;
    double* scores = out.data_ptr<double>();
    const std::vector<bool> valid = valid_in_domain(samples.tensor());
    const std::vector<std::string>& decoded = samples.decoded();

    // The distinct decoded samples not in the cache, in order of appearance.
    std::vector<std::string> todo;
    std::unordered_map<std::string, size_t> todo_index;
    for (int64_t i = 0; i < n; ++i) {
      if (!valid[i] || cache_.contains(decoded[i]) || todo_index.contains(decoded[i])) continue;
      if (decoded[i].find_first_of("\r\n") != std::string::npos) {
        note(Failure::line_break, decoded[i],
             "it holds a line break, which the protocol cannot send");
        continue;
      }
      todo_index.emplace(decoded[i], todo.size());
      todo.push_back(decoded[i]);
    }

    std::vector<double> fresh(todo.size(), params_.invalid_value);
    std::vector<bool> keep(todo.size(), false);  // cacheable answers
    int64_t not_finite = 0;
    if (!todo.empty()) score_with_workers(todo, fresh, keep, not_finite);

    for (size_t t = 0; t < todo.size(); ++t) {
      if (params_.cache && keep[t]) cache_.emplace(todo[t], fresh[t]);
    }
    for (int64_t i = 0; i < n; ++i) {
      if (!valid[i]) continue;
      if (const auto found = todo_index.find(decoded[i]); found != todo_index.end()) {
        scores[i] = fresh[found->second];
      } else if (const auto cached = cache_.find(decoded[i]); cached != cache_.end()) {
        scores[i] = cached->second;
      }
    }
    sent_ += static_cast<int64_t>(todo.size());
    check_numeric_failures(label_, not_finite, n);
    return out;
  }

 private:
  // [B] whether each sample is one of the domain: no mask or out-of-range
  // token (discrete), every value finite (continuous). Invalid ones are
  // never sent.
  std::vector<bool> valid_in_domain(const at::Tensor& x) const {
    at::Tensor ok;
    if (domain_.discrete() && !x.is_floating_point()) {
      const at::Tensor ids = x.to(at::kCPU, at::kLong);
      ok = (ids.ge(0) & ids.lt(domain_.vocab_size) & ids.ne(domain_.mask_id))
               .reshape({x.size(0), -1})
               .all(1);
    } else {
      ok = at::isfinite(x.detach().to(at::kCPU)).reshape({x.size(0), -1}).all(1);
    }
    ok = ok.to(at::kBool).contiguous();
    const bool* flags = ok.data_ptr<bool>();
    return std::vector<bool>(flags, flags + x.size(0));
  }

  // Sends `todo` to the workers in contiguous chunks and reads their
  // answers into `scores` (invalid_value where none came); `keep` marks the
  // program's own answers, which the cache may keep.
  void score_with_workers(const std::vector<std::string>& todo, std::vector<double>& scores,
                          std::vector<bool>& keep, int64_t& not_finite) {
    SigpipeGuard sigpipe;
    const size_t chunks = std::min(workers_.size(), todo.size());
    std::vector<Exchange> exchanges(chunks);
    for (size_t c = 0; c < chunks; ++c) {
      Exchange& e = exchanges[c];
      e.worker = workers_[c].get();
      e.index = c + 1;
      const size_t begin = todo.size() * c / chunks, end = todo.size() * (c + 1) / chunks;
      e.request = fmt::format("{}\n", end - begin);
      for (size_t t = begin; t < end; ++t) {
        e.items.push_back(t);
        e.request += todo[t];
        e.request += '\n';
      }
      prepare_worker(e);
    }
    const auto deadline =
        Clock::now() + std::chrono::duration_cast<Clock::duration>(
                           std::chrono::duration<double>(params_.timeout_seconds));
    exchange(exchanges, deadline, todo, scores, keep, not_finite);

    // Failures: logged with their first sample, counted against starts.
    for (Exchange& e : exchanges) {
      if (e.failure && e.answered < e.items.size()) {
        const size_t left = e.items.size() - e.answered;
        note(*e.failure, todo[e.items[e.answered]],
             fmt::format("{}; {} of the worker's {} samples get invalid_value", e.reason, left,
                         e.items.size()),
             static_cast<int64_t>(left));
      }
      if (e.worker->running() && !e.failure) continue;
      // The worker is gone (or was stopped): did it answer anything at all?
      if (e.worker->answers == 0) {
        ++failed_starts_in_a_row_;
        last_start_failure_ = e.reason;
      }
      e.worker->kill_now();
    }
    if (failed_starts_in_a_row_ >= params_.failed_starts) {
      throw RuntimeFailure(fmt::format(
          "{}: {} worker starts in a row ended before a single answer (last: {}); the program "
          "cannot work: run it by hand, e.g. printf '1\\nSAMPLE\\n' | {}",
          label_, failed_starts_in_a_row_, last_start_failure_, command_text(params_.command)));
    }
  }

  // Makes sure the exchange's worker is running and idle: one that ended
  // while idle, or left lines from an earlier call (it answered too many),
  // is replaced.
  void prepare_worker(Exchange& e) {
    Worker& w = *e.worker;
    if (w.running()) {
      pollfd p{w.output(), POLLIN, 0};
      const bool leftover = !w.pending_output.empty() || (poll(&p, 1, 0) > 0);
      if (w.ended() || leftover) {
        const std::string how = w.kill_now();
        logger("core")->warn("{}: worker {} {}; starting a new one", label_, e.index,
                             leftover ? "printed more lines than it was sent samples"
                                      : fmt::format("{} while idle", how));
      }
    }
    if (!w.running()) {
      const std::string why = w.start(program_, params_.command, params_.directory.path);
      ++starts_;
      if (!why.empty()) {
        e.done = true;
        e.failure = Failure::not_started;
        e.reason = fmt::format("the program could not be started: {}", why);
        return;
      }
      logger("core")->debug("{}: worker {} started (pid {})", label_, e.index, w.pid());
    }
  }

  // The event loop: writes the requests, reads the answers of every worker
  // at once until each has answered, failed or run past the deadline.
  void exchange(std::vector<Exchange>& exchanges, Clock::time_point deadline,
                const std::vector<std::string>& todo, std::vector<double>& scores,
                std::vector<bool>& keep, int64_t& not_finite) {
    const auto fail = [&](Exchange& e, Failure kind, std::string reason) {
      e.done = true;
      e.failure = kind;
      e.reason = std::move(reason);
    };
    const auto with_stderr = [](const Worker& w, std::string text) {
      const std::string line = w.last_error_line();
      return line.empty() ? text : fmt::format("{} (stderr: {})", text, line);
    };
    for (;;) {
      std::vector<pollfd> fds;
      std::vector<std::pair<Exchange*, int>> owners;  // exchange, 0 in / 1 out / 2 err
      for (Exchange& e : exchanges) {
        if (e.done) continue;
        Worker& w = *e.worker;
        if (w.input() >= 0 && e.written < e.request.size()) {
          fds.push_back({w.input(), POLLOUT, 0});
          owners.emplace_back(&e, 0);
        }
        fds.push_back({w.output(), POLLIN, 0});
        owners.emplace_back(&e, 1);
        if (w.errors() >= 0) {
          fds.push_back({w.errors(), POLLIN, 0});
          owners.emplace_back(&e, 2);
        }
      }
      if (fds.empty()) return;
      if (const int signal = stop_requested()) {
        // The batch in flight is not kept when svdd stops: leave at once.
        for (Exchange& e : exchanges) e.worker->kill_now();
        stop_if_requested(
            fmt::format("{}: stopped by {} while scoring", label_, signal_name(signal)));
      }
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      if (left.count() <= 0) {
        for (Exchange& e : exchanges) {
          if (e.done) continue;
          fail(e, Failure::timed_out,
               with_stderr(*e.worker,
                           fmt::format("worker {} answered {} of {} samples in {} s", e.index,
                                       e.answered, e.items.size(), params_.timeout_seconds)));
          e.worker->kill_now();
        }
        return;
      }
      // At most 100 ms at a time, to notice a stop signal another thread took.
      const int wait_ms = static_cast<int>(std::clamp<int64_t>(left.count(), 1, 100));
      const int ready = poll(fds.data(), fds.size(), wait_ms);
      if (ready < 0 && errno != EINTR) {
        throw RuntimeFailure(fmt::format("{}: poll failed: {}", label_, std::strerror(errno)));
      }
      if (ready <= 0) continue;
      for (size_t f = 0; f < fds.size(); ++f) {
        if (fds[f].revents == 0) continue;
        Exchange& e = *owners[f].first;
        if (e.done) continue;
        Worker& w = *e.worker;
        switch (owners[f].second) {
          case 0: {
            const ssize_t n =
                write(w.input(), e.request.data() + e.written, e.request.size() - e.written);
            if (n > 0) e.written += static_cast<size_t>(n);
            // EPIPE: it closed its input; its output says the rest.
            if (n < 0 && errno == EPIPE) w.stop_writing();
            break;
          }
          case 1:
            read_answers(e, todo, scores, keep, not_finite, fail, with_stderr);
            break;
          case 2:
            w.read_errors(fmt::format("{} worker {}", label_, e.index));
            break;
        }
      }
    }
  }

  // Reads what the worker printed and takes every whole line as an answer.
  template <typename Fail, typename WithStderr>
  void read_answers(Exchange& e, const std::vector<std::string>& todo, std::vector<double>& scores,
                    std::vector<bool>& keep, int64_t& not_finite, const Fail& fail,
                    const WithStderr& with_stderr) {
    Worker& w = *e.worker;
    char buffer[65536];
    const ssize_t n = read(w.output(), buffer, sizeof buffer);
    if (n < 0) return;  // EAGAIN, EINTR
    if (n == 0) {
      // Its output ended: it exited, crashed, or closed it. Drain its
      // standard error for the reason first.
      while (w.errors() >= 0 && w.read_errors(fmt::format("{} worker {}", label_, e.index))) {
        pollfd p{w.errors(), POLLIN, 0};
        if (poll(&p, 1, 50) <= 0) break;
      }
      const std::string how = w.finish(std::chrono::milliseconds(200));
      fail(e, Failure::ended,
           with_stderr(w, fmt::format("worker {} {} after {} of {} answers", e.index, how,
                                      e.answered, e.items.size())));
      return;
    }
    w.pending_output.append(buffer, static_cast<size_t>(n));
    size_t line_end;
    while (!e.done && (line_end = w.pending_output.find('\n')) != std::string::npos) {
      const std::string line = w.pending_output.substr(0, line_end);
      w.pending_output.erase(0, line_end + 1);
      const size_t t = e.items[e.answered];
      const Answer answer = parse_answer(line);
      if (answer.kind == Answer::Kind::garbage) {
        // Its later lines may no longer line up with the samples.
        fail(e, Failure::garbage, fmt::format("worker {}: {}", e.index, answer.reason));
        w.kill_now();
        return;
      }
      ++e.answered;
      ++w.answers;
      failed_starts_in_a_row_ = 0;
      if (answer.kind == Answer::Kind::score) {
        scores[t] = answer.value;
        keep[t] = true;
      } else if (answer.kind == Answer::Kind::marked_invalid) {
        keep[t] = true;  // its own verdict on the sample: the same next time
        note(Failure::marked_invalid, todo[t], answer.reason);
      } else {
        ++not_finite;
        note(Failure::not_finite, todo[t], answer.reason);
      }
      if (e.answered == e.items.size()) e.done = true;
    }
  }

  // Logs a failure the first few times of its kind, then only counts it.
  void note(Failure kind, const std::string& sample, const std::string& reason,
            int64_t samples = 1) {
    constexpr int64_t kLogged = 3;
    const auto k = static_cast<size_t>(kind);
    const int64_t seen = ++events_[k];
    failures_[k] += samples;
    if (seen > kLogged) return;
    logger("core")->warn(
        "{}: sample '{}' gets invalid_value {}: {}{}", label_, shown(sample), params_.invalid_value,
        reason,
        seen == kLogged ? fmt::format(" (further {} are counted, not logged)", kFailureNames[k])
                        : "");
  }

  void report_totals() const {
    std::vector<std::string> parts;
    for (size_t k = 0; k < kFailureNames.size(); ++k) {
      if (failures_[k] > 0) parts.push_back(fmt::format("{} {}", failures_[k], kFailureNames[k]));
    }
    if (sent_ == 0 && parts.empty()) return;
    logger("core")->info("{}: {} samples sent to {} worker starts{}{}", label_, sent_, starts_,
                         parts.empty() ? "" : "; ", fmt::join(parts, ", "));
  }

  ProgramParams params_;
  Domain domain_;
  std::string label_;
  std::filesystem::path program_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::mutex mutex_;
  std::unordered_map<std::string, double> cache_;
  int64_t failed_starts_in_a_row_ = 0;
  std::string last_start_failure_;
  int64_t sent_ = 0, starts_ = 0;
  std::array<int64_t, kFailureNames.size()> events_{}, failures_{};
};

}  // namespace

void register_program_reward(Registry& registry) {
  registry.add<ComponentKind::reward, ProgramParams>(
      "program",
      "a user's program as the reward (any domain): persistent workers read a count line and "
      "that many decoded samples on stdin and print one number (or `invalid ...`) per sample",
      [](const ProgramParams& p, const BuildContext&, const Domain& domain) {
        return std::make_unique<ProgramReward>(p, domain);
      });
}

}  // namespace svdd
