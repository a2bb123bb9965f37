// Writing a plugin: include this header in one .cpp of the plugin and write
//
//   SVDD_PLUGIN(register_my_components)
//
// after defining `void register_my_components(svdd::Registry&)`. That exports
// the two C entry points the loader looks for: svdd_plugin_info() (API
// version, libtorch version, compiler ABI; a mismatch is refused with a clear
// message) and svdd_plugin_register(). Build it with svdd_add_plugin() in
// CMake. Exceptions thrown by registration are reported, never propagated.
#pragma once

#include <torch/version.h>

#include "svdd/registry.hpp"

// Raised whenever a type a plugin shares with core changes its layout or a
// registry call changes: 2 added Domain::encoder, BuildContext::make_domain
// and Registry::add_domain; 3 added ComponentKind::value_network (value
// architectures) and BuildContext::registry.
#define SVDD_PLUGIN_API_VERSION 4

#define SVDD_STRINGIFY_IMPL(x) #x
#define SVDD_STRINGIFY(x) SVDD_STRINGIFY_IMPL(x)
// The facts about a compiler that make C++ objects compatible across libraries.
#define SVDD_COMPILER_ABI                                      \
  "gcc-" SVDD_STRINGIFY(__GNUC__) " cxx11abi=" SVDD_STRINGIFY( \
      _GLIBCXX_USE_CXX11_ABI) " cxx=" SVDD_STRINGIFY(__cplusplus)

extern "C" {
struct SvddPluginInfo {
  int api_version;
  const char* torch_version;
  const char* compiler_abi;
  const char* name;
};
}

#define SVDD_PLUGIN_INFO_SYMBOL "svdd_plugin_info"
#define SVDD_PLUGIN_REGISTER_SYMBOL "svdd_plugin_register"

#define SVDD_PLUGIN(register_function)                                                          \
  extern "C" __attribute__((visibility("default"))) const SvddPluginInfo* svdd_plugin_info() {  \
    static const SvddPluginInfo info{SVDD_PLUGIN_API_VERSION, TORCH_VERSION, SVDD_COMPILER_ABI, \
                                     SVDD_STRINGIFY(register_function)};                        \
    return &info;                                                                               \
  }                                                                                             \
  extern "C" __attribute__((visibility("default"))) void svdd_plugin_register(                  \
      svdd::Registry& registry) {                                                               \
    register_function(registry);                                                                \
  }
