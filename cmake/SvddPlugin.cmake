# svdd_add_plugin(<name> SOURCES <files...> [LIBRARIES <targets...>])
#
# Builds one svdd plugin: a shared library linked to svdd::core, named
# svdd_plugin_<name>, placed in the build's plugin folder (or, out of tree, the
# folder named by SVDD_PLUGIN_OUTPUT_DIR, default <build>/plugins) and
# installed into the plugin folder of the install tree.
function(svdd_add_plugin name)
  cmake_parse_arguments(ARG "" "" "SOURCES;LIBRARIES" ${ARGN})
  if(NOT ARG_SOURCES)
    message(FATAL_ERROR "svdd_add_plugin(${name}): SOURCES is required")
  endif()
  set(target svdd_plugin_${name})
  add_library(${target} MODULE ${ARG_SOURCES})
  target_link_libraries(${target} PRIVATE svdd::core ${ARG_LIBRARIES})
  set_target_properties(${target} PROPERTIES
    PREFIX "lib"
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON)
  if(DEFINED SVDD_BUILD_PLUGIN_DIR)
    # Inside svdd's tree: libsvdd_core beside in the build (plugins/ ->
    # core/) and installed (<libdir>/svdd/plugins -> <libdir>).
    set_target_properties(${target} PROPERTIES
      LIBRARY_OUTPUT_DIRECTORY "${SVDD_BUILD_PLUGIN_DIR}"
      INSTALL_RPATH "$ORIGIN/../core;$ORIGIN/../..")
  elseif(DEFINED SVDD_PLUGIN_OUTPUT_DIR)
    set_target_properties(${target} PROPERTIES LIBRARY_OUTPUT_DIRECTORY "${SVDD_PLUGIN_OUTPUT_DIR}")
  else()
    set_target_properties(${target} PROPERTIES LIBRARY_OUTPUT_DIRECTORY "${CMAKE_BINARY_DIR}/plugins")
  endif()
  if(DEFINED SVDD_INSTALL_PLUGIN_DIR)
    install(TARGETS ${target} LIBRARY DESTINATION "${SVDD_INSTALL_PLUGIN_DIR}")
  endif()
endfunction()
