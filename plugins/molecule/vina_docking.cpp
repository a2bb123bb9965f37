#include "vina_docking.hpp"

#include <ATen/ATen.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>
#include <unordered_map>
#include <utility>

#include "molecule_domain.hpp"
#include "rdkit_support.hpp"
#include "svdd/error.hpp"
#include "svdd/util/log.hpp"

extern char** environ;

namespace svdd::molecule {

namespace {

using Clock = std::chrono::steady_clock;

constexpr const char* kName = "molecule.vina";
constexpr const char* kInstallHint =
    "install AutoDock Vina and Open Babel (Debian/Ubuntu: sudo apt-get install autodock-vina "
    "openbabel)";

// ---- child processes with a deadline --------------------------------------

struct ProcessResult {
  enum class Status { exited, signalled, timed_out, not_started };
  Status status = Status::not_started;
  int code = -1;       // exit code, or the signal
  std::string output;  // stdout and stderr together (the first MiB)
  std::string error;   // why it did not start
};

// This process's environment with OMP_NUM_THREADS=1. Debian's Open Babel
// evaluates MMFF94 energies in OpenMP regions; next to other busy processes
// (the other workers, say) their spinning threads made --gen3d of
// paracetamol take 5 to 120 s instead of 0.1 s. Each child gets one core.
std::vector<std::string> single_threaded_environment() {
  std::vector<std::string> out;
  for (char** e = environ; *e; ++e) {
    if (std::string_view(*e).starts_with("OMP_NUM_THREADS=")) continue;
    out.emplace_back(*e);
  }
  out.emplace_back("OMP_NUM_THREADS=1");
  return out;
}

// Runs argv[0] (searched in PATH) with stdin from /dev/null and stdout and
// stderr into one pipe. The child leads its own process group so that a
// timeout kills whatever it started too (a shell script's children would
// otherwise keep the pipe open). No shell sees the arguments.
ProcessResult run_process(const std::vector<std::string>& argv, double timeout_seconds) {
  ProcessResult result;
  // O_CLOEXEC: children that other workers spawn at the same moment must not
  // inherit this pipe, or its end-of-file would wait for them.
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    result.error = std::strerror(errno);
    return result;
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, fds[1], 1);
  posix_spawn_file_actions_adddup2(&actions, fds[1], 2);
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  sigset_t no_signals, default_signals;
  sigemptyset(&no_signals);
  sigemptyset(&default_signals);
  sigaddset(&default_signals, SIGPIPE);
  posix_spawnattr_setsigmask(&attributes, &no_signals);
  posix_spawnattr_setsigdefault(&attributes, &default_signals);
  posix_spawnattr_setpgroup(&attributes, 0);
  posix_spawnattr_setflags(&attributes,
                           POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  std::vector<std::string> environment = single_threaded_environment();
  std::vector<char*> env;
  for (std::string& e : environment) env.push_back(e.data());
  env.push_back(nullptr);
  pid_t pid = 0;
  const int spawned = posix_spawnp(&pid, args[0], &actions, &attributes, args.data(), env.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attributes);
  close(fds[1]);
  if (spawned != 0) {
    close(fds[0]);
    result.error = std::strerror(spawned);
    return result;
  }

  const auto deadline =
      Clock::now() + std::chrono::duration_cast<Clock::duration>(
                         std::chrono::duration<double>(std::max(timeout_seconds, 0.0)));
  const auto remaining_ms = [&] {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    return static_cast<int>(std::clamp<int64_t>(left.count(), 0, INT_MAX));
  };
  constexpr size_t kMaxOutput = size_t{1} << 20;
  bool timed_out = false;
  char buffer[4096];
  for (;;) {
    pollfd p{fds[0], POLLIN, 0};
    const int ready = poll(&p, 1, remaining_ms());
    if (ready < 0 && errno == EINTR) continue;
    if (ready == 0) {
      timed_out = true;
      break;
    }
    const ssize_t n = read(fds[0], buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // end of file: the child closed its output
    if (result.output.size() < kMaxOutput) result.output.append(buffer, static_cast<size_t>(n));
  }
  close(fds[0]);

  int status = 0;
  while (!timed_out) {
    const pid_t done = waitpid(pid, &status, WNOHANG);
    if (done == pid) break;
    if (done < 0 && errno != EINTR) break;
    if (Clock::now() >= deadline) {
      timed_out = true;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  if (timed_out) {
    kill(-pid, SIGKILL);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    result.status = ProcessResult::Status::timed_out;
  } else if (WIFEXITED(status)) {
    result.status = ProcessResult::Status::exited;
    result.code = WEXITSTATUS(status);
  } else {
    result.status = ProcessResult::Status::signalled;
    result.code = WIFSIGNALED(status) ? WTERMSIG(status) : -1;
  }
  return result;
}

// The line of a program's output that best says what went wrong: the first
// one naming an error (Vina follows its error with a long plea to report
// it), else the last non-empty one; shortened.
std::string message_line(const std::string& output) {
  std::istringstream in(output);
  std::string line, last;
  while (std::getline(in, line)) {
    line.erase(line.find_last_not_of(" \t\r") + 1);
    line.erase(0, line.find_first_not_of(" \t"));
    if (line.empty()) continue;
    last = line;
    if (line.find("error") != std::string::npos || line.find("Error") != std::string::npos) break;
  }
  if (last.size() > 200) last = last.substr(0, 200) + "...";
  return last.empty() ? "no output" : last;
}

// Why a run did not succeed, or "" when it exited with 0.
std::string failure(const std::string& program, const ProcessResult& r, double timeout_seconds) {
  using S = ProcessResult::Status;
  switch (r.status) {
    case S::exited:
      return r.code == 0 ? ""
                         : fmt::format("{} failed with exit code {} ({})", program, r.code,
                                       message_line(r.output));
    case S::signalled:
      return fmt::format("{} was killed by signal {}", program, r.code);
    case S::timed_out:
      return fmt::format("{} timed out after {} s", program, timeout_seconds);
    case S::not_started:
      return fmt::format("{} could not be started ({})", program, r.error);
  }
  return program + " failed";
}

// Refuses a program that does not run `program version_flag` successfully.
void check_program(const std::string& program, const std::string& version_flag,
                   const std::string& key) {
  const ProcessResult r = run_process({program, version_flag}, 30.0);
  const std::string why = failure(program, r, 30.0);
  if (!why.empty()) {
    throw InputError(fmt::format("{}: {} '{}' cannot be run: {}; {}, or set {} to its path", kName,
                                 key, program, why, kInstallHint, key));
  }
  svdd::logger("molecule")->debug("{}: {} is {}", kName, key, message_line(r.output));
}

// ---- receptors and boxes --------------------------------------------------

std::string read_file(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

struct Box {
  std::string receptor_file;
  std::vector<double> center, size;
};

// boxes.tsv: target, receptor_file, center_x..z, size_x..z, then columns we
// do not need.
std::map<std::string, Box> read_boxes(const std::filesystem::path& file) {
  std::ifstream in(file);
  if (!in) {
    throw InputError(fmt::format("{}: receptor boxes {} not found", kName, file.string()));
  }
  std::map<std::string, Box> boxes;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#' || line.rfind("target\t", 0) == 0) continue;
    std::istringstream fields(line);
    std::string name;
    Box box;
    box.center.resize(3);
    box.size.resize(3);
    fields >> name >> box.receptor_file >> box.center[0] >> box.center[1] >> box.center[2] >>
        box.size[0] >> box.size[1] >> box.size[2];
    if (!fields) {
      throw InputError(
          fmt::format("{}: {}: cannot read the line '{}'", kName, file.string(), line));
    }
    boxes.emplace(name, std::move(box));
  }
  return boxes;
}

// ---- one ligand -----------------------------------------------------------

// The files of one ligand, removed when it is done.
struct LigandFiles {
  std::filesystem::path smiles, ligand, docked;
  explicit LigandFiles(const std::filesystem::path& stem)
      : smiles(stem.string() + ".smi"),
        ligand(stem.string() + ".pdbqt"),
        docked(stem.string() + "_out.pdbqt") {}
  ~LigandFiles() {
    std::error_code ec;
    for (const auto* f : {&smiles, &ligand, &docked}) std::filesystem::remove(*f, ec);
  }
};

struct Outcome {
  double reward = 0.0;
  std::string failure;  // "" on success
  bool cacheable = true;
};

}  // namespace

void VinaParams::visit(ParamVisitor& v) {
  v.field("receptor", receptor,
          "a receptor of <data>/docking_receptors_mood with its box from boxes.tsv: parp1, fa7, "
          "5ht1b, braf or jak2");
  v.field("receptor_file", receptor_file,
          "a receptor PDBQT to use instead of `receptor`; then center and size are required");
  v.field("center", center, "box centre x, y, z in Angstrom (default: the receptor's box)");
  v.require(center.empty() || center.size() == 3, "center", "must hold 3 numbers (x, y, z)");
  v.field("size", size, "box edge lengths x, y, z in Angstrom (default: the receptor's box)");
  v.require(size.empty() || size.size() == 3, "size", "must hold 3 numbers (x, y, z)");
  v.require(std::all_of(size.begin(), size.end(), [](double s) { return s > 0.0; }), "size",
            "must be positive");
  v.field("exhaustiveness", exhaustiveness,
          "Vina's search effort per ligand (1 in MOOD and SVDD; Vina's own default is 8)");
  v.at_least("exhaustiveness", exhaustiveness, 1);
  v.field("seed", seed, "Vina's random seed, fixed so that a molecule's score is reproducible");
  v.require(seed >= 0 && seed <= INT32_MAX, "seed", "must be in [0, 2147483647]");
  v.field("num_modes", num_modes, "poses Vina reports (the reward uses the best)");
  v.at_least("num_modes", num_modes, 1);
  v.field("workers", workers,
          "ligands docked at once, one vina --cpu 1 each (0: the hardware concurrency)");
  v.at_least("workers", workers, 0);
  v.field("timeout_seconds", timeout_seconds,
          "limit for vina on one ligand (MOOD: 100); a ligand over it gets the invalid value");
  v.positive("timeout_seconds", timeout_seconds);
  v.field("obabel_timeout_seconds", obabel_timeout_seconds,
          "limit for one obabel --gen3d run (MOOD: 30)");
  v.positive("obabel_timeout_seconds", obabel_timeout_seconds);
  v.field("obabel_attempts", obabel_attempts,
          "obabel runs per ligand when it times out (it seeds its conformer search from the "
          "clock, so a stalled search may finish on a later try)");
  v.at_least("obabel_attempts", obabel_attempts, 1);
  v.field("vina_program", vina_program, "AutoDock Vina executable (name in PATH or path)");
  v.field("obabel_program", obabel_program, "Open Babel executable (name in PATH or path)");
}

DockingTarget resolve_target(const VinaParams& params, const std::filesystem::path& data_dir) {
  if (!params.receptor_file.path.empty()) {
    if (params.center.size() != 3 || params.size.size() != 3) {
      throw InputError(
          fmt::format("{}: receptor_file needs center and size (3 numbers each, Angstrom)", kName));
    }
    if (!std::filesystem::is_regular_file(params.receptor_file.path)) {
      throw InputError(
          fmt::format("{}: receptor_file {} not found", kName, params.receptor_file.path.string()));
    }
    return {params.receptor_file.path, params.center, params.size};
  }
  if (data_dir.empty()) {
    throw InputError(fmt::format(
        "{}: no data folder for receptor '{}' (set $SVDD_DATA_DIR, or give receptor_file, "
        "center and size)",
        kName, params.receptor));
  }
  const std::filesystem::path folder = data_dir / "docking_receptors_mood";
  const auto boxes = read_boxes(folder / "boxes.tsv");
  const auto found = boxes.find(params.receptor);
  if (found == boxes.end()) {
    std::vector<std::string> known;
    for (const auto& [name, box] : boxes) known.push_back(name);
    throw InputError(fmt::format("{}: unknown receptor '{}'; {} knows {}", kName, params.receptor,
                                 (folder / "boxes.tsv").string(), fmt::join(known, ", ")));
  }
  DockingTarget target{folder / found->second.receptor_file, found->second.center,
                       found->second.size};
  if (!std::filesystem::is_regular_file(target.receptor)) {
    throw InputError(fmt::format("{}: receptor '{}': file {} not found", kName, params.receptor,
                                 target.receptor.string()));
  }
  if (!params.center.empty()) target.center = params.center;
  if (!params.size.empty()) target.size = params.size;
  return target;
}

std::optional<double> parse_vina_result(std::string_view pdbqt) {
  constexpr std::string_view kTag = "REMARK VINA RESULT:";
  const size_t at = pdbqt.find(kTag);
  if (at == std::string_view::npos) return std::nullopt;
  const std::string rest(pdbqt.substr(at + kTag.size(), 64));
  char* end = nullptr;
  const double affinity = std::strtod(rest.c_str(), &end);
  if (end == rest.c_str() || !std::isfinite(affinity)) return std::nullopt;
  return affinity;
}

struct VinaDocking::Impl {
  VinaParams params;
  DockingTarget target;
  std::filesystem::path dir;
  int64_t workers = 1;
  std::atomic<int64_t> next_ligand{0};
  mutable std::mutex mutex;  // guards cache and counts
  std::unordered_map<std::string, double> cache;
  DockingCounts counts;

  // One core per ligand: the workers are the parallelism.
  std::vector<std::string> vina_command(const LigandFiles& files) const {
    std::vector<std::string> argv = {params.vina_program, "--receptor", target.receptor.string(),
                                     "--ligand", files.ligand.string()};
    for (size_t axis = 0; axis < 3; ++axis) {
      const char name = "xyz"[axis];
      argv.insert(argv.end(),
                  {fmt::format("--center_{}", name), fmt::format("{}", target.center[axis]),
                   fmt::format("--size_{}", name), fmt::format("{}", target.size[axis])});
    }
    argv.insert(argv.end(),
                {"--exhaustiveness", std::to_string(params.exhaustiveness), "--seed",
                 std::to_string(params.seed), "--num_modes", std::to_string(params.num_modes),
                 "--cpu", "1", "--out", files.docked.string()});
    return argv;
  }

  // Builds the conformer and docks it. Never throws: every failure is an
  // outcome with its reason.
  Outcome dock(const std::string& smiles) noexcept {
    try {
      const LigandFiles files(dir / fmt::format("ligand_{}", next_ligand++));
      // SMILES go through a file, never a command line a shell would read.
      std::ofstream(files.smiles) << smiles << "\n";
      ProcessResult prepared;
      for (int64_t attempt = 1;; ++attempt) {
        prepared = run_process({params.obabel_program, "-ismi", files.smiles.string(), "--gen3d",
                                "-opdbqt", "-O", files.ligand.string()},
                               params.obabel_timeout_seconds);
        if (prepared.status != ProcessResult::Status::timed_out) break;
        if (attempt == params.obabel_attempts) {
          return {0.0,
                  fmt::format("obabel timed out after {} s in each of {} attempts",
                              params.obabel_timeout_seconds, attempt),
                  false};
        }
        svdd::logger("molecule")
            ->debug("{}: obabel timed out on '{}'; trying again", kName, smiles);
      }
      if (std::string why = failure("obabel", prepared, params.obabel_timeout_seconds);
          !why.empty()) {
        return {0.0, why};
      }
      // Open Babel exits with 0 after converting no molecule.
      if (read_file(files.ligand).find("ATOM") == std::string::npos) {
        return {0.0, fmt::format("obabel wrote no ligand ({})", message_line(prepared.output))};
      }
      const ProcessResult docked = run_process(vina_command(files), params.timeout_seconds);
      if (std::string why = failure("vina", docked, params.timeout_seconds); !why.empty()) {
        return {0.0, why, docked.status != ProcessResult::Status::timed_out};
      }
      const std::optional<double> affinity = parse_vina_result(read_file(files.docked));
      if (!affinity) {
        return {0.0, fmt::format("unparsable vina output: no REMARK VINA RESULT line in {} ({})",
                                 files.docked.filename().string(), message_line(docked.output))};
      }
      return {std::max(-*affinity, 0.0), ""};
    } catch (const std::exception& e) {
      return {0.0, e.what()};
    }
  }

  // Docks each of `todo` on up to `workers` threads.
  std::vector<Outcome> dock_all(const std::vector<std::string>& todo) {
    std::vector<Outcome> outcomes(todo.size());
    std::atomic<size_t> next{0};
    const auto work = [&] {
      for (size_t i = next++; i < todo.size(); i = next++) outcomes[i] = dock(todo[i]);
    };
    const size_t threads = std::min(static_cast<size_t>(workers), todo.size());
    std::vector<std::jthread> pool;
    for (size_t t = 1; t < threads; ++t) pool.emplace_back(work);
    work();
    return outcomes;
  }
};

VinaDocking::VinaDocking(const VinaParams& params, const std::filesystem::path& data_dir)
    : impl_(std::make_unique<Impl>()) {
  impl_->params = params;
  impl_->target = resolve_target(params, data_dir);
  check_program(params.vina_program, "--version", "vina_program");
  check_program(params.obabel_program, "-V", "obabel_program");
  impl_->workers =
      params.workers > 0 ? params.workers : std::max(1u, std::thread::hardware_concurrency());
  std::string pattern = (std::filesystem::temp_directory_path() / "svdd_vina_XXXXXX").string();
  if (!mkdtemp(pattern.data())) {
    throw RuntimeFailure(fmt::format("{}: cannot make a temporary folder {}: {}", kName, pattern,
                                     std::strerror(errno)));
  }
  impl_->dir = pattern;
  svdd::logger("molecule")
      ->debug("{}: receptor {}, {} workers, temporary folder {}", kName,
              impl_->target.receptor.string(), impl_->workers, impl_->dir.string());
}

VinaDocking::~VinaDocking() {
  std::error_code ec;
  std::filesystem::remove_all(impl_->dir, ec);
}

DockingCounts VinaDocking::counts() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->counts;
}

const std::filesystem::path& VinaDocking::work_dir() const { return impl_->dir; }

at::Tensor VinaDocking::score(const Samples& samples) {
  const std::vector<double> values = score_smiles(samples.decoded());
  return at::tensor(at::ArrayRef<double>(values), at::dtype(at::kDouble));
}

std::vector<double> VinaDocking::score_smiles(const std::vector<std::string>& smiles) {
  const auto start = Clock::now();
  // The cache key is the canonical SMILES; that is also what gets docked, so
  // a cached score never depends on how the molecule was first written.
  std::vector<std::string> keys(smiles.size());
  for (size_t i = 0; i < smiles.size(); ++i) keys[i] = canonical_smiles(smiles[i]);

  std::vector<double> out(smiles.size(), invalid_value());
  std::vector<std::string> todo;
  int64_t invalid = 0, valid = 0;
  {
    std::lock_guard lock(impl_->mutex);
    for (const std::string& key : keys) {
      if (key.empty()) {
        ++invalid;
      } else {
        ++valid;
        if (!impl_->cache.contains(key)) todo.push_back(key);
      }
    }
  }
  std::sort(todo.begin(), todo.end());
  todo.erase(std::unique(todo.begin(), todo.end()), todo.end());

  // Outside the lock: other calls may score meanwhile (and might dock the
  // same molecule twice, which wastes time but gives the same value).
  const std::vector<Outcome> outcomes = impl_->dock_all(todo);

  int64_t failures = 0;
  std::unordered_map<std::string, double> fresh;
  for (size_t i = 0; i < todo.size(); ++i) {
    const Outcome& o = outcomes[i];
    if (!o.failure.empty()) {
      ++failures;
      svdd::logger("molecule")
          ->warn("{}: '{}' gets the invalid value {}: {}", kName, todo[i], invalid_value(),
                 o.failure);
    }
    fresh.emplace(todo[i], std::isfinite(o.reward) ? o.reward : invalid_value());
  }
  {
    std::lock_guard lock(impl_->mutex);
    for (size_t i = 0; i < todo.size(); ++i) {
      // A timeout may come from a busy machine rather than the molecule, so
      // it is tried again next time.
      if (outcomes[i].cacheable) impl_->cache.emplace(todo[i], fresh.at(todo[i]));
    }
    for (size_t i = 0; i < keys.size(); ++i) {
      if (keys[i].empty()) continue;
      const auto found = fresh.find(keys[i]);
      out[i] = found != fresh.end() ? found->second : impl_->cache.at(keys[i]);
    }
    impl_->counts.docked += static_cast<int64_t>(todo.size());
    impl_->counts.cache_hits += valid - static_cast<int64_t>(todo.size());
    impl_->counts.failures += failures;
    impl_->counts.invalid += invalid;
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  svdd::logger("molecule")
      ->log(todo.empty() ? spdlog::level::debug : spdlog::level::info,
            "{}: {} molecules: {} docked ({} failed), {} from the cache, {} invalid; {:.1f} s",
            kName, smiles.size(), todo.size(), failures, valid - static_cast<int64_t>(todo.size()),
            invalid, seconds);
  return out;
}

void register_docking(Registry& registry) {
  registry.add<svdd::ComponentKind::reward, VinaParams>(
      kName,
      "max(-affinity, 0): AutoDock Vina's best docking score (kcal/mol) of an Open Babel 3-D "
      "conformer, as MOOD and SVDD",
      [](const VinaParams& p, const BuildContext& build, const Domain& d) {
        require_molecule_tokens(d, kName);
        return std::make_unique<VinaDocking>(p, build.data_dir);
      });
}

}  // namespace svdd::molecule
