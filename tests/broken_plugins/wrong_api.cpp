// A plugin built for another plugin API version: the loader must refuse it.
#include "svdd/plugin.hpp"

extern "C" __attribute__((visibility("default"))) const SvddPluginInfo* svdd_plugin_info() {
  static const SvddPluginInfo info{999, TORCH_VERSION, SVDD_COMPILER_ABI, "wrong_api"};
  return &info;
}
extern "C" __attribute__((visibility("default"))) void svdd_plugin_register(svdd::Registry&) {}
