// The `program` reward (core/src/rewards/program_reward.cpp) with the
// workers of tests/fixtures/program: they score a string by its number of
// A's and misbehave on the sample DDDD in the way their mode says (crash,
// hang, garbage, too few lines, ...). Every failure leaves the other
// samples scored, gives the affected ones invalid_value, is logged with the
// sample and the reason, and never blocks past the timeout.
#include <signal.h>
#include <spdlog/sinks/ostream_sink.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "catch_torch.hpp"
#include "contract.hpp"
#include "svdd/error.hpp"
#include "svdd/reward_oracle.hpp"
#include "svdd/util/log.hpp"
#include "toy_fixture.hpp"

using Catch::Contains;

namespace {

const std::string kWorkers = std::string(SVDD_SOURCE_DIR) + "/tests/fixtures/program/";

// Strings of the toy domain (length 4, tokens A-D; '?' is the mask).
at::Tensor strings(const svdd::Domain& domain, const std::vector<std::string>& texts) {
  at::Tensor x = at::empty({static_cast<int64_t>(texts.size()), 4}, at::kLong);
  for (size_t i = 0; i < texts.size(); ++i) {
    for (size_t j = 0; j < 4; ++j) {
      const char c = texts[i][j];
      x[i][j] = c == '?' ? domain.mask_id : c - 'A';
    }
  }
  return x;
}

std::vector<double> values(const at::Tensor& scores) {
  const at::Tensor s = scores.contiguous();
  return std::vector<double>(s.data_ptr<double>(), s.data_ptr<double>() + s.size(0));
}

// What svdd's loggers write while it lives.
class CapturedLog {
 public:
  CapturedLog() : sink_(std::make_shared<spdlog::sinks::ostream_sink_mt>(text_)) {
    svdd::add_log_sink(sink_);
  }
  ~CapturedLog() { svdd::remove_log_sink(sink_); }
  std::string text() const { return text_.str(); }

 private:
  std::ostringstream text_;
  spdlog::sink_ptr sink_;
};

std::vector<std::string> lines_of(const std::filesystem::path& file) {
  std::ifstream in(file);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

struct Fixture {
  svdd::contract::Workshop workshop;
  svdd::Domain domain = workshop.model("type = \"toy.categorical\"")->domain();
  std::unique_ptr<svdd::RewardOracle> reward(const std::string& command,
                                             const std::string& more = "") const {
    return workshop.reward("type = \"program\"\ncommand = " + command + "\n" + more, domain);
  }
  std::vector<double> score(svdd::RewardOracle& r, const std::vector<std::string>& texts) const {
    return values(r.score(svdd::Samples(strings(domain, texts), domain)));
  }
};

std::string worker(const std::string& mode, const std::string& log = "") {
  return "[\"" + kWorkers + "worker.sh\", \"" + mode + "\"" +
         (log.empty() ? "" : ", \"" + log + "\"") + "]";
}

using Seconds = std::chrono::duration<double>;

}  // namespace

TEST_CASE("program reward: two workers score a batch in order, the mask is never sent",
          "[unit][program]") {
  const Fixture f;
  const svdd::test::TempDir dir;
  const std::string log = (dir.path() / "sent.txt").string();
  auto reward = f.reward(worker("ok", log), "workers = 2\ninvalid_value = -1");
  CHECK_FALSE(reward->differentiable());
  CHECK(f.score(*reward, {"AAAA", "ABAB", "A??B", "BBBB", "DDDA", "AAAB"}) ==
        std::vector<double>{4, 2, -1, 0, 1, 3});
  CHECK(lines_of(log).size() == 5);  // the masked string did not go out
}

TEST_CASE("program reward: a worker that crashes leaves the run going", "[unit][program]") {
  const Fixture f;
  const CapturedLog log;
  auto reward = f.reward(worker("crash"));
  CHECK(f.score(*reward, {"AAAA", "DDDD", "AABB"}) == std::vector<double>{4, 0, 0});
  CHECK_THAT(log.text(), Contains("sample 'DDDD' gets invalid_value 0") &&
                             Contains("exited with code 3 after 1 of 3 answers") &&
                             Contains("cannot score DDDD"));
  // A fresh worker takes the next call.
  CHECK(f.score(*reward, {"ABAB", "AABB"}) == std::vector<double>{2, 2});
}

TEST_CASE("program reward: a worker that hangs is killed at the timeout", "[unit][program]") {
  const Fixture f;
  const CapturedLog log;
  auto reward = f.reward(worker("hang"), "timeout_seconds = 1");
  const auto start = std::chrono::steady_clock::now();
  CHECK(f.score(*reward, {"AAAA", "DDDD", "AABB"}) == std::vector<double>{4, 0, 0});
  const double seconds = Seconds(std::chrono::steady_clock::now() - start).count();
  CHECK(seconds >= 1.0);
  CHECK(seconds < 2.0);
  CHECK_THAT(log.text(), Contains("sample 'DDDD' gets invalid_value") &&
                             Contains("answered 1 of 3 samples in 1 s"));
  CHECK(f.score(*reward, {"ABAB"}) == std::vector<double>{2});
}

TEST_CASE("program reward: garbage makes the rest of the worker's chunk invalid",
          "[unit][program]") {
  const Fixture f;
  const CapturedLog log;
  auto reward = f.reward(worker("garbage"));
  // Lines after a garbage line may no longer line up with the samples.
  CHECK(f.score(*reward, {"AAAA", "DDDD", "AABB"}) == std::vector<double>{4, 0, 0});
  CHECK_THAT(log.text(), Contains("sample 'DDDD' gets invalid_value") &&
                             Contains("printed 'score=4', which is neither a number"));
  CHECK(f.score(*reward, {"ABAB"}) == std::vector<double>{2});
}

TEST_CASE("program reward: too few lines time out, the lines that came count", "[unit][program]") {
  const Fixture f;
  const CapturedLog log;
  auto reward = f.reward(worker("too_few"), "timeout_seconds = 1");
  const auto start = std::chrono::steady_clock::now();
  CHECK(f.score(*reward, {"AAAA", "AABB", "DDDD"}) == std::vector<double>{4, 2, 0});
  CHECK(Seconds(std::chrono::steady_clock::now() - start).count() < 2.0);
  CHECK_THAT(log.text(), Contains("sample 'DDDD'") && Contains("answered 2 of 3 samples in 1 s"));
  CHECK(f.score(*reward, {"ABAB", "AAAB"}) == std::vector<double>{2, 3});
}

TEST_CASE("program reward: a sample the program marks invalid is logged with its reason",
          "[unit][program]") {
  const Fixture f;
  const CapturedLog log;
  auto reward = f.reward(worker("invalid"), "invalid_value = -5");
  CHECK(f.score(*reward, {"DDDD", "AAAA"}) == std::vector<double>{-5, 4});
  CHECK_THAT(log.text(),
             Contains("sample 'DDDD' gets invalid_value -5: the program marked it invalid: DDDD "
                      "is not allowed"));
}

TEST_CASE("program reward: non-finite answers are invalid, most of a call stops the run",
          "[unit][program]") {
  const Fixture f;
  auto reward = f.reward(worker("nan"));
  CHECK(f.score(*reward, {"DDDD", "AAAA", "AABB"}) == std::vector<double>{0, 4, 2});
  CHECK_THROWS_AS(f.score(*reward, {"DDDD"}), svdd::RuntimeFailure);
}

TEST_CASE("program reward: a program that exits at start every time stops the run",
          "[unit][program]") {
  const Fixture f;
  const CapturedLog log;
  auto reward = f.reward("[\"" + kWorkers + "exit_at_start.sh\"]", "failed_starts = 3");
  // Two failed starts: still going, the samples invalid and logged.
  CHECK(f.score(*reward, {"AAAA", "ABAB"}) == std::vector<double>{0, 0});
  CHECK(f.score(*reward, {"AAAB"}) == std::vector<double>{0});
  CHECK_THAT(log.text(),
             Contains("sample 'AAAA' gets invalid_value") && Contains("cannot load the model"));
  // The third in a row: the program cannot work.
  CHECK_THROWS_WITH(f.score(*reward, {"BBBB"}),
                    Contains("3 worker starts in a row ended before a single answer") &&
                        Contains("exit_at_start.sh") && Contains("cannot load the model"));
}

TEST_CASE("program reward: a worker that exits at its first start is restarted",
          "[unit][program]") {
  const Fixture f;
  const CapturedLog log;
  const svdd::test::TempDir dir;
  auto reward = f.reward("[\"" + kWorkers + "exit_first_start.sh\", \"" +
                         (dir.path() / "started").string() + "\"]");
  CHECK(f.score(*reward, {"AAAA", "ABAB"}) == std::vector<double>{0, 0});
  CHECK_THAT(log.text(), Contains("sample 'AAAA' gets invalid_value") &&
                             Contains("exited with code 1 after 0 of 2 answers") &&
                             Contains("not ready yet"));
  // Failures are not cached: the same samples are scored now.
  CHECK(f.score(*reward, {"AAAA", "ABAB"}) == std::vector<double>{4, 2});
}

TEST_CASE("program reward: the cache avoids a second call for a decoded sample",
          "[unit][program]") {
  const Fixture f;
  const svdd::test::TempDir dir;
  const std::string sent = (dir.path() / "sent.txt").string();
  SECTION("cached") {
    auto reward = f.reward(worker("invalid", sent), "workers = 2");
    CHECK(f.score(*reward, {"AAAA", "AAAA", "DDDD"}) == std::vector<double>{4, 4, 0});
    CHECK(f.score(*reward, {"DDDD", "AAAA", "ABAB"}) == std::vector<double>{0, 4, 2});
    // Each sent once (the two workers append in either order).
    auto lines = lines_of(sent);
    std::sort(lines.begin(), lines.end());
    CHECK(lines == std::vector<std::string>{"AAAA", "ABAB", "DDDD"});
  }
  SECTION("cache = false sends every call, twins in a batch once") {
    auto reward = f.reward(worker("ok", sent), "cache = false");
    CHECK(f.score(*reward, {"AAAA", "AAAA"}) == std::vector<double>{4, 4});
    CHECK(f.score(*reward, {"AAAA"}) == std::vector<double>{4});
    CHECK(lines_of(sent) == std::vector<std::string>{"AAAA", "AAAA"});
  }
}

TEST_CASE("program reward: the workers end with the reward", "[unit][program]") {
  const Fixture f;
  const svdd::test::TempDir dir;
  const std::string pids = (dir.path() / "pids.txt").string();
  setenv("PROGRAM_PIDS", pids.c_str(), 1);
  {
    auto reward = f.reward(worker("ok"), "workers = 3");
    CHECK(f.score(*reward, {"AAAA", "ABAB", "BBBB"}) == std::vector<double>{4, 2, 0});
  }
  unsetenv("PROGRAM_PIDS");
  const auto started = lines_of(pids);
  REQUIRE(started.size() == 3);
  for (const std::string& pid : started) {
    INFO("worker " << pid);
    CHECK(kill(std::stoi(pid), 0) != 0);  // reaped: no such process
  }
}

TEST_CASE("program reward: a bad command is refused when the reward is built", "[unit][program]") {
  const Fixture f;
  CHECK_THROWS_WITH(f.reward("[]"), Contains("command") && Contains("must name the program"));
  CHECK_THROWS_AS(f.reward("[\"no-such-program-svdd\"]"), svdd::InputError);
  CHECK_THROWS_WITH(f.reward("[\"no-such-program-svdd\"]"),
                    Contains("command: program 'no-such-program-svdd' not found in PATH"));
  CHECK_THROWS_WITH(f.reward("[\"" + kWorkers + "../program/none.sh\"]"),
                    Contains("does not exist"));
  // A script without its executable bit.
  const svdd::test::TempDir dir;
  const auto script = dir.write("score.py", "print(1)\n");
  CHECK_THROWS_WITH(f.reward("[\"" + script.string() + "\"]"),
                    Contains("is not an executable file"));
  CHECK_THROWS_WITH(f.reward(worker("ok"), "workers = 0"), Contains("workers"));
}
