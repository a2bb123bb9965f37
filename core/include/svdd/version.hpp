#pragma once

#include "svdd/export.hpp"

namespace svdd {
SVDD_API const char* version();        // "0.1.0"
SVDD_API const char* torch_version();  // libtorch this core was built with
}  // namespace svdd
