# fastnnConfig.cmake -- find_package(fastnn) for extension modules built
# against fastnn's C API (fastnn/fastnn_api.h), e.g. with scikit-build-core:
#
#   find_package(Python REQUIRED COMPONENTS Interpreter Development.Module)
#   find_package(fastnn 0.1 REQUIRED)
#   python_add_library(mymod MODULE WITH_SOABI mymod.c)
#   target_link_libraries(mymod PRIVATE fastnn::fastnn)
#
# fastnn::fastnn is an INTERFACE target: it carries the include directory
# (fastnn_INCLUDE_DIR, also fastnn.get_include()) and links nothing; the
# extension takes fastnn's kernels from the running fastnn at import
# (fastnn_import_api()).  fastnn_CYTHON_INCLUDE_DIR is the directory to give
# Cython (-I) for `cimport fastnn.cython_kernels`.
#
# This file lies in <fastnn package>/share/cmake/fastnn; scikit-build-core
# finds it through fastnn's "cmake.root" entry point, plain CMake through
# -Dfastnn_DIR=$(python -c "import fastnn; print(fastnn.get_cmake_dir())").

get_filename_component(_fastnn_package "${CMAKE_CURRENT_LIST_DIR}/../../.." ABSOLUTE)
set(fastnn_INCLUDE_DIR "${_fastnn_package}/include")
set(fastnn_CYTHON_INCLUDE_DIR "${_fastnn_package}/include")
if(NOT EXISTS "${fastnn_INCLUDE_DIR}/fastnn/fastnn_api.h")
  set(fastnn_FOUND FALSE)
  set(fastnn_NOT_FOUND_MESSAGE "fastnn's headers are missing from ${fastnn_INCLUDE_DIR} (an install without them?)")
  return()
endif()
if(NOT TARGET fastnn::fastnn)
  add_library(fastnn::fastnn INTERFACE IMPORTED)
  set_target_properties(fastnn::fastnn PROPERTIES INTERFACE_INCLUDE_DIRECTORIES "${fastnn_INCLUDE_DIR}")
endif()
unset(_fastnn_package)
