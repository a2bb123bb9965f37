# FindRDKit: RDKit's C++ libraries (Debian librdkit-dev ships no CMake
# config). Defines RDKit_FOUND, RDKit_INCLUDE_DIR and one imported target
# RDKit::<Component> per requested component, e.g.
#   find_package(RDKit REQUIRED COMPONENTS GraphMol SmilesParse Descriptors)
# RDKit::<Component> links libRDKit<Component>.so; RDKit::RDGeneral is always
# found and linked, since every other library needs it.
find_path(RDKit_INCLUDE_DIR GraphMol/RDKitBase.h PATH_SUFFIXES rdkit)

set(_rdkit_components ${RDKit_FIND_COMPONENTS})
list(APPEND _rdkit_components RDGeneral)
list(REMOVE_DUPLICATES _rdkit_components)

set(_rdkit_missing "")
foreach(component IN LISTS _rdkit_components)
  find_library(RDKit_${component}_LIBRARY NAMES RDKit${component})
  if(RDKit_${component}_LIBRARY)
    set(RDKit_${component}_FOUND TRUE)
  else()
    list(APPEND _rdkit_missing ${component})
  endif()
endforeach()

include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(RDKit
  REQUIRED_VARS RDKit_INCLUDE_DIR RDKit_RDGeneral_LIBRARY
  HANDLE_COMPONENTS
  REASON_FAILURE_MESSAGE "install Debian's librdkit-dev (missing: ${_rdkit_missing})")

if(RDKit_FOUND)
  foreach(component IN LISTS _rdkit_components)
    if(RDKit_${component}_FOUND AND NOT TARGET RDKit::${component})
      add_library(RDKit::${component} UNKNOWN IMPORTED)
      set_target_properties(RDKit::${component} PROPERTIES
        IMPORTED_LOCATION "${RDKit_${component}_LIBRARY}"
        INTERFACE_INCLUDE_DIRECTORIES "${RDKit_INCLUDE_DIR}")
      if(NOT component STREQUAL "RDGeneral")
        set_property(TARGET RDKit::${component} APPEND PROPERTY INTERFACE_LINK_LIBRARIES RDKit::RDGeneral)
      endif()
    endif()
  endforeach()
endif()
mark_as_advanced(RDKit_INCLUDE_DIR)
