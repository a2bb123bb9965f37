// Private: the TOML side of ComponentConfig (toml++ stays out of public headers).
#pragma once

#include <toml++/toml.h>

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "svdd/params.hpp"

namespace svdd {

// Where each dotted key path ("methods.svdd.candidates") stands in the
// experiment file. Kept apart from the tables because toml++ drops source
// positions when a table is copied (as --set and [sweep] do).
struct SourceMap {
  std::string file;
  std::map<std::string, std::pair<uint32_t, uint32_t>> positions;  // path -> (line, column)

  static std::shared_ptr<const SourceMap> of(const toml::table& root, std::string file);
  // "file:line:col" of `path`, else of its closest enclosing table, else "file".
  std::string locate(const std::string& path) const;
  // The same map with `path` (and everything under it) placed where `from`
  // stands: a value a sweep sets is reported at its [sweep] line.
  std::shared_ptr<const SourceMap> redirected(
      const std::vector<std::pair<std::string, std::string>>& path_from) const;
};

// Where one component's table came from.
struct ConfigOrigin {
  std::shared_ptr<const SourceMap> sources;
  std::string table_path;          // e.g. "methods.svdd_pm"
  std::filesystem::path base_dir;  // relative paths resolve here

  const std::string& file() const { return sources->file; }
  ConfigOrigin nested(const std::string& key) const {
    return {sources, table_path + "." + key, base_dir};
  }
};

struct ComponentConfig::Impl {
  toml::table table;
  ConfigOrigin origin;
};

std::shared_ptr<const ComponentConfig> make_component_config(toml::table table,
                                                             ConfigOrigin origin);

// Reads `value` (a string or a table with `type`) as a ComponentSpec.
ComponentSpec component_spec_from(const toml::node& value, const ConfigOrigin& origin);

// Writes the fields of `visit` (current values) into a TOML table.
toml::table write_params(const VisitFn& visit);

// "a.b.c" -> {"a", "b", "c"}.
std::vector<std::string> split_path(const std::string& key);

// Sets root[a][b][c] = value for key "a.b.c", creating tables on the way;
// `what` names the source in errors ("--set ...", "[sweep] ...").
void set_path(toml::table& root, const std::string& key, const toml::node& value,
              const std::string& what);

// Applies one --set "key.path=value" (value in TOML syntax; a bare word is a
// string).
void apply_override(toml::table& root, const std::string& assignment);

// One entry as TOML text under its table path ({"methods", "x"} ->
// "[methods.x]\n..."), so files can be written in a chosen section order.
std::string section_text(const std::vector<std::string>& path, toml::table table);

// Keys of a table in the order they appear in the file (unknown positions,
// e.g. from --set, last); `prefix` is the table's key path.
std::vector<std::string> file_order(const std::vector<std::string>& keys, const std::string& prefix,
                                    const SourceMap& sources);
std::vector<std::string> ordered_names(const toml::table& table, const std::string& prefix,
                                       const SourceMap& sources);

// Parses a TOML file; InputError "<what> not found: FILE" when it does not
// exist, saying so when it is a directory, not a regular file or unreadable
// (with the system's reason), and "FILE:line:col: TOML syntax error: ..."
// when it does not parse.
toml::table read_toml_file(const std::filesystem::path& file, const std::string& what);

// "key.path was A, is now B" for the first key whose value differs between
// two TOML texts ("" when none does). Throws toml::parse_error on bad text.
std::string first_toml_difference(const std::string& saved, const std::string& now);

}  // namespace svdd
