// Finds and loads plugins into a Registry. Plugins are searched in the build's
// plugin folder, the installed plugin folder and every folder of
// SVDD_PLUGIN_PATH (':'-separated). A plugin that cannot be used (no entry
// point, another API version, libtorch or compiler ABI, a registration that
// throws or clashes) is refused with one line naming the file and the reason;
// loading goes on with the others. Libraries are never unloaded: libtorch's
// static registries and objects made by a plugin must outlive every use.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "svdd/export.hpp"
#include "svdd/registry.hpp"

namespace svdd {

struct PluginReport {
  std::filesystem::path file;
  bool loaded = false;
  std::string name;    // the plugin's registration function name, when loaded
  std::string reason;  // why it was refused, when not loaded
};

// The folders searched, in order, existing or not.
SVDD_API std::vector<std::filesystem::path> plugin_search_path();

// Loads one plugin file into `registry`; never throws.
SVDD_API PluginReport load_plugin(const std::filesystem::path& file, Registry& registry);

// Loads every lib*.so under the search path (each file once).
SVDD_API std::vector<PluginReport> load_plugins(Registry& registry);

}  // namespace svdd
