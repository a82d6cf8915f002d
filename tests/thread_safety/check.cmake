# Compiles violations.cpp with clang's thread-safety analysis as errors (the
# flags src/ is built with). Run by tests.cmake:
#   cmake -DCXX=<clang++> -DFLAGS=<list> -DSRC=<src/> -DVIOLATION=<macro or empty>
#         -DEXPECT=<regex of the diagnostic> -P check.cmake
# No VIOLATION: the file must compile. Otherwise it must be rejected with a
# diagnostic matching EXPECT. Without clang++ it prints "skipped".
if(NOT CXX OR NOT EXISTS "${CXX}")
  message("skipped: clang++ not found")
  return()
endif()
set(defs "")
if(VIOLATION)
  set(defs -D${VIOLATION})
endif()
execute_process(
  COMMAND "${CXX}" -std=c++17 -fsyntax-only ${FLAGS} -I${SRC} ${defs} ${CMAKE_CURRENT_LIST_DIR}/violations.cpp
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
message("${out}")
if(NOT VIOLATION)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "the correct code was rejected")
  endif()
elseif(rc EQUAL 0)
  message(FATAL_ERROR "${VIOLATION} compiled: the analysis did not reject it")
elseif(NOT out MATCHES "error: ${EXPECT}")
  message(FATAL_ERROR "${VIOLATION} failed to compile, but not with the expected error: ${EXPECT}")
endif()
