# The tools use the public API (include/h5tx/), plus an explicit, short list
# of internal headers where they truly need internals: the CLI's `check` and
# `dump` read the journal formats, and its inputs and exports use the one
# set of HDF5 helpers. Anything else from src/ in tools/h5tx fails the
# build, naming the line. Run with -DDIR=<tools/h5tx> -DALLOWED=<a|b|c>.
cmake_policy(SET CMP0057 NEW)  # if(... IN_LIST ...)
if(NOT DIR)
  message(FATAL_ERROR "check_tool_includes.cmake: pass -DDIR=<dir> -DALLOWED=<headers>")
endif()
string(REPLACE "|" ";" ALLOWED "${ALLOWED}")
file(GLOB files ${DIR}/*.cpp ${DIR}/*.hpp)
set(errors "")
foreach(f IN LISTS files)
  file(STRINGS ${f} incs REGEX "^[ \t]*#[ \t]*include[ \t]+\"(util|io|hdf5|undo|journal|flush|store)/")
  foreach(inc IN LISTS incs)
    string(REGEX REPLACE "^[ \t]*#[ \t]*include[ \t]+\"([^\"]+)\".*" "\\1" header "${inc}")
    if(NOT header IN_LIST ALLOWED)
      get_filename_component(name ${f} NAME)
      string(APPEND errors "  ${name}: ${header}\n")
    endif()
  endforeach()
endforeach()
if(errors)
  message(FATAL_ERROR "${DIR}: internal headers outside the tool's list (tools/CMakeLists.txt; use the public API):\n${errors}")
endif()
