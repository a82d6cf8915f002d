# Finds h5tx's dependencies (Debian packages): HDF5 (C), xxHash, zlib,
# threads. Shared by the build tree and h5tx-config.cmake. (Boost.Filesystem
# is a dependency of the tests only: tests/CMakeLists.txt.)
# FindHDF5 probes with the C compiler: a user's CXX-only project gets C enabled.
get_property(_h5tx_langs GLOBAL PROPERTY ENABLED_LANGUAGES)
if(NOT "C" IN_LIST _h5tx_langs)
  enable_language(C)
endif()
set(HDF5_PREFER_PARALLEL OFF)
find_package(HDF5 1.10 REQUIRED COMPONENTS C)
find_package(xxHash REQUIRED)
find_package(ZLIB REQUIRED)
find_package(Threads REQUIRED)
if(NOT TARGET h5tx_libhdf5)
  add_library(h5tx_libhdf5 INTERFACE IMPORTED)
  target_include_directories(h5tx_libhdf5 INTERFACE ${HDF5_C_INCLUDE_DIRS} ${HDF5_INCLUDE_DIRS})
  target_link_libraries(h5tx_libhdf5 INTERFACE ${HDF5_C_LIBRARIES} ${HDF5_LIBRARIES})
  target_compile_definitions(h5tx_libhdf5 INTERFACE ${HDF5_C_DEFINITIONS} ${HDF5_DEFINITIONS})
endif()
