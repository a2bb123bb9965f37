// Versions the CLI, the plugin loader and every card report (version.hpp).
#include "svdd/version.hpp"

#include <torch/version.h>

namespace svdd {

const char* version() { return "0.1.0"; }
const char* torch_version() { return TORCH_VERSION; }

}  // namespace svdd
