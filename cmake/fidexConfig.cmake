# CMake package configuration for an installed fidex (make install PREFIX=...).
#
#   find_package(fidex 0.2 REQUIRED)
#   target_link_libraries(app PRIVATE fidex::fidex)          # shared libfidex.so
#   target_link_libraries(app PRIVATE fidex::fidex_static)   # static libfidex.a
#
# Installed as <libdir>/cmake/fidex/fidexConfig.cmake; everything is found relative to
# this file, so the installed tree can be moved.
get_filename_component(_fidex_libdir "${CMAKE_CURRENT_LIST_DIR}/../.." ABSOLUTE)
get_filename_component(_fidex_prefix "${_fidex_libdir}/.." ABSOLUTE)
set(_fidex_includedir "${_fidex_prefix}/include")

if(NOT EXISTS "${_fidex_includedir}/fidex.h")
  set(fidex_FOUND FALSE)
  set(fidex_NOT_FOUND_MESSAGE "fidex.h not found in ${_fidex_includedir}")
  return()
endif()

include(CMakeFindDependencyMacro)
set(THREADS_PREFER_PTHREAD_FLAG ON)
find_dependency(Threads)

if(NOT TARGET fidex::fidex AND EXISTS "${_fidex_libdir}/libfidex.so")
  add_library(fidex::fidex SHARED IMPORTED)
  set_target_properties(fidex::fidex PROPERTIES
    IMPORTED_LOCATION "${_fidex_libdir}/libfidex.so"
    INTERFACE_INCLUDE_DIRECTORIES "${_fidex_includedir}")
endif()

if(NOT TARGET fidex::fidex_static AND EXISTS "${_fidex_libdir}/libfidex.a")
  add_library(fidex::fidex_static STATIC IMPORTED)
  # The Rust standard library's system dependencies (--print native-static-libs).
  set_target_properties(fidex::fidex_static PROPERTIES
    IMPORTED_LOCATION "${_fidex_libdir}/libfidex.a"
    IMPORTED_LINK_INTERFACE_LANGUAGES "C"
    INTERFACE_INCLUDE_DIRECTORIES "${_fidex_includedir}"
    INTERFACE_LINK_LIBRARIES "Threads::Threads;gcc_s;util;rt;m;dl;c")
endif()

set(fidex_INCLUDE_DIRS "${_fidex_includedir}")
if(TARGET fidex::fidex)
  set(fidex_LIBRARIES fidex::fidex)
else()
  set(fidex_LIBRARIES fidex::fidex_static)
endif()
unset(_fidex_libdir)
unset(_fidex_prefix)
unset(_fidex_includedir)
