// Named loggers sharing one set of sinks (see log.hpp).
#include "svdd/util/log.hpp"

#include <spdlog/sinks/dist_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <mutex>

namespace svdd {
namespace {

// Every svdd logger writes through this one sink: the terminal (stdout, as
// spdlog's default logger) plus whatever add_log_sink adds.
std::shared_ptr<spdlog::sinks::dist_sink_mt> shared_sinks() {
  static const auto sinks = [] {
    auto dist = std::make_shared<spdlog::sinks::dist_sink_mt>();
    dist->add_sink(std::make_shared<spdlog::sinks::stdout_color_sink_mt>());
    return dist;
  }();
  return sinks;
}

}  // namespace

std::shared_ptr<spdlog::logger> logger(const std::string& name) {
  static std::mutex mutex;
  std::lock_guard lock(mutex);
  if (auto existing = spdlog::get(name)) return existing;
  auto created = std::make_shared<spdlog::logger>(name, shared_sinks());
  // Takes the registry's pattern and the level SPDLOG_LEVEL set for `name`,
  // and registers the logger.
  spdlog::initialize_logger(created);
  // Every line reaches run.log at once: a killed run keeps its whole log.
  created->flush_on(spdlog::level::info);
  return created;
}

void add_log_sink(const spdlog::sink_ptr& sink) { shared_sinks()->add_sink(sink); }

void remove_log_sink(const spdlog::sink_ptr& sink) { shared_sinks()->remove_sink(sink); }

}  // namespace svdd
