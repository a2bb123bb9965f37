// Named loggers: "core", "run" and "train" in core, and one per plugin
// ("sequence", "molecule", "image", ...). Every logger writes to the
// terminal and, while a run is going, to its run.log. The level comes from
// SPDLOG_LEVEL, for all loggers ("debug") or per logger
// ("info,train=debug,molecule=warn").
#pragma once

#include <spdlog/logger.h>

#include <memory>
#include <string>

#include "svdd/export.hpp"

namespace svdd {

// The logger `name`, created on first use with the shared sinks and the
// level SPDLOG_LEVEL gives it. Thread-safe.
SVDD_API std::shared_ptr<spdlog::logger> logger(const std::string& name);

// Adds or removes a sink (run.log) for every svdd logger, also those made
// later.
SVDD_API void add_log_sink(const spdlog::sink_ptr& sink);
SVDD_API void remove_log_sink(const spdlog::sink_ptr& sink);

}  // namespace svdd
