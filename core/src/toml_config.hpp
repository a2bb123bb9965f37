// Private: the TOML side of ComponentConfig (toml++ stays out of public headers).
#pragma once

#include <toml++/toml.h>

#include <filesystem>
#include <memory>
#include <string>

#include "svdd/params.hpp"

namespace svdd {

struct ComponentConfig::Impl {
  toml::table table;
  std::string file;        // the experiment file, for messages
  std::string table_path;  // e.g. "methods.svdd_pm"
  std::filesystem::path base_dir;  // relative paths resolve here
};

std::shared_ptr<const ComponentConfig> make_component_config(toml::table table, std::string file,
                                                             std::string table_path,
                                                             std::filesystem::path base_dir);

// "file:line:col" of a node, or "file" when the node has no source.
std::string location(const std::string& file, const toml::node* node);

// Reads `value` (a string or a table with `type`) as a ComponentSpec.
ComponentSpec component_spec_from(const toml::node& value, const std::string& file,
                                  const std::string& table_path,
                                  const std::filesystem::path& base_dir);

// Writes the fields of `visit` (current values) into a TOML table.
toml::table write_params(const VisitFn& visit);

}  // namespace svdd
