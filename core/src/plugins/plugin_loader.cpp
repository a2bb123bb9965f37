// Finding and loading plugins (see plugin_loader.hpp).
#include "svdd/plugins/plugin_loader.hpp"

#include <fmt/format.h>

#include <boost/dll/runtime_symbol_info.hpp>
#include <boost/dll/shared_library.hpp>
#include <cstdlib>
#include <cstring>
#include <set>

#include "svdd/error.hpp"
#include "svdd/plugin.hpp"
#include "svdd/util/log.hpp"

namespace svdd {
namespace {

// Every library ever opened stays open until the process ends: objects,
// std::functions and exceptions made by a plugin may outlive any scope, and
// dlclose with libtorch's static registries crashes at exit. Deliberately
// leaked.
std::vector<boost::dll::shared_library>& kept_libraries() {
  static auto* libraries = new std::vector<boost::dll::shared_library>();
  return *libraries;
}

std::string plugin_name(const std::filesystem::path& file) { return file.filename().string(); }

}  // namespace

std::vector<std::filesystem::path> plugin_search_path() {
  std::vector<std::filesystem::path> folders;
  // The user's folders come first, so a plugin there takes precedence over
  // one of the same file name shipped with svdd.
  if (const char* extra = std::getenv("SVDD_PLUGIN_PATH")) {
    std::string text(extra);
    size_t begin = 0;
    while (begin <= text.size()) {
      size_t end = text.find(':', begin);
      if (end == std::string::npos) end = text.size();
      if (end > begin) folders.emplace_back(text.substr(begin, end - begin));
      begin = end + 1;
    }
  }
  const auto core_dir =
      std::filesystem::path(boost::dll::this_line_location().parent_path().string());
#if defined(SVDD_BUILD_PLUGIN_DIR) && defined(SVDD_BUILD_CORE_DIR)
  // Running from the build tree: its plugin folder.
  std::error_code ec;
  if (std::filesystem::equivalent(core_dir, SVDD_BUILD_CORE_DIR, ec)) {
    folders.emplace_back(SVDD_BUILD_PLUGIN_DIR);
  }
#endif
  // Installed layout: <prefix>/lib/libsvdd_core.so and <prefix>/lib/svdd/plugins.
  folders.push_back(core_dir / "svdd" / "plugins");
  return folders;
}

// The dynamic loader's own reason in boost's message "boost::dll::
// shared_library::load() failed (dlerror system message: REASON): Bad file
// descriptor"; the errno boost appends is not the failure's.
namespace {
std::string loader_message(const std::string& what) {
  const std::string_view marker = "(dlerror system message: ";
  const size_t start = what.find(marker);
  const size_t end = what.rfind("): ");
  if (start == std::string::npos || end == std::string::npos || end < start) return what;
  return what.substr(start + marker.size(), end - start - marker.size());
}
}  // namespace

PluginReport load_plugin(const std::filesystem::path& file, Registry& registry) {
  PluginReport report;
  report.file = file;
  auto refuse = [&](std::string reason) {
    report.reason = std::move(reason);
    return report;
  };
  boost::dll::shared_library library;
  try {
    library.load(boost::dll::fs::path(file.string()), boost::dll::load_mode::rtld_lazy);
  } catch (const std::exception& e) {
    return refuse(fmt::format("cannot be opened: {}", loader_message(e.what())));
  }
  kept_libraries().push_back(library);

  if (!library.has(SVDD_PLUGIN_INFO_SYMBOL)) {
    return refuse("no " SVDD_PLUGIN_INFO_SYMBOL
                  "() entry point: not an svdd plugin (write SVDD_PLUGIN(...) in one source file)");
  }
  const SvddPluginInfo* info = library.get<const SvddPluginInfo*()>(SVDD_PLUGIN_INFO_SYMBOL)();
  if (!info) return refuse(SVDD_PLUGIN_INFO_SYMBOL "() returned null");
  if (info->api_version != SVDD_PLUGIN_API_VERSION) {
    return refuse(
        fmt::format("built for plugin API version {}, this svdd has version {}: rebuild "
                    "the plugin against this svdd",
                    info->api_version, SVDD_PLUGIN_API_VERSION));
  }
  if (!info->torch_version || std::strcmp(info->torch_version, TORCH_VERSION) != 0) {
    return refuse(fmt::format("built against libtorch {}, this svdd uses libtorch {}",
                              info->torch_version ? info->torch_version : "(unknown)",
                              TORCH_VERSION));
  }
  if (!info->compiler_abi || std::strcmp(info->compiler_abi, SVDD_COMPILER_ABI) != 0) {
    return refuse(fmt::format("built with compiler ABI '{}', this svdd has '{}'",
                              info->compiler_abi ? info->compiler_abi : "(unknown)",
                              SVDD_COMPILER_ABI));
  }
  if (!library.has(SVDD_PLUGIN_REGISTER_SYMBOL)) {
    return refuse("no " SVDD_PLUGIN_REGISTER_SYMBOL "() entry point");
  }
  auto& register_fn = library.get<void(Registry&)>(SVDD_PLUGIN_REGISTER_SYMBOL);
  Registry staged;
  try {
    register_fn(staged);
    registry.merge(std::move(staged), file.string());
  } catch (const std::exception& e) {
    return refuse(fmt::format("registration failed: {}", e.what()));
  } catch (...) {
    return refuse("registration threw a non-standard exception");
  }
  report.loaded = true;
  report.name = info->name ? info->name : "";
  return report;
}

std::vector<PluginReport> load_plugins(Registry& registry) {
  std::vector<PluginReport> reports;
  std::set<std::string> seen_paths, seen_names;
  for (const auto& folder : plugin_search_path()) {
    std::error_code ec;
    if (!std::filesystem::is_directory(folder, ec)) continue;
    std::vector<std::filesystem::path> files;
    for (const auto& entry : std::filesystem::directory_iterator(folder, ec)) {
      const auto name = entry.path().filename().string();
      if (entry.is_regular_file() && name.rfind("lib", 0) == 0 &&
          entry.path().extension() == ".so") {
        files.push_back(entry.path());
      }
    }
    std::sort(files.begin(), files.end());
    for (const auto& file : files) {
      const auto canonical = std::filesystem::weakly_canonical(file, ec).string();
      if (!seen_paths.insert(canonical).second) continue;
      if (!seen_names.insert(plugin_name(file)).second) {
        logger("core")->debug("plugin {} skipped: a plugin of the same name was loaded first",
                              file.string());
        continue;
      }
      PluginReport report = load_plugin(file, registry);
      if (!report.loaded)
        logger("core")->warn("plugin {} refused: {}", file.string(), report.reason);
      reports.push_back(std::move(report));
    }
  }
  return reports;
}

}  // namespace svdd
