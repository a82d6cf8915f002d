# thread_safety:* (docs/design.md, "Lock order"): clang's thread-safety
# analysis, with the flags src/ is built with, accepts correct use of the
# annotated mutexes (src/util/mutex.hpp) and rejects each kind of mistake.
# Needs clang++ (found even when the build uses gcc); skipped without it.
if(CMAKE_CXX_COMPILER_ID MATCHES "Clang")
  set(H5TX_CLANGXX ${CMAKE_CXX_COMPILER})
else()
  find_program(H5TX_CLANGXX NAMES clang++ clang++-14 clang++-15 clang++-16)
endif()
set(tsa_cases
  "clean|"
  "unguarded_write|UNGUARDED_WRITE|writing variable 'n_' requires holding mutex 'mu_' exclusively"
  "unguarded_read|UNGUARDED_READ|reading variable 'n_' requires holding mutex 'mu_'"
  "locked_call|LOCKED_CALL|calling function 'add_locked' requires holding mutex 'mu_' exclusively"
  "excluded_call|EXCLUDED_CALL|cannot call function 'add' while mutex 'mu_' is held"
  "after_unlock|AFTER_UNLOCK|writing variable 'n_' requires holding mutex 'mu_' exclusively"
  "shared_write|SHARED_WRITE|writing variable 'v_' requires holding mutex 'mu_' exclusively")
foreach(c ${tsa_cases})
  string(REPLACE "|" ";" parts "${c}")
  list(GET parts 0 name)
  list(GET parts 1 violation)
  set(expect "")
  list(LENGTH parts n)
  if(n GREATER 2)
    list(GET parts 2 expect)
  endif()
  add_test(NAME thread_safety:${name}
    COMMAND ${CMAKE_COMMAND} "-DCXX=${H5TX_CLANGXX}" "-DFLAGS=${H5TX_THREAD_SAFETY_FLAGS}"
            -DSRC=${PROJECT_SOURCE_DIR}/src "-DVIOLATION=${violation}" "-DEXPECT=${expect}"
            -P ${CMAKE_CURRENT_LIST_DIR}/check.cmake)
  set_tests_properties(thread_safety:${name} PROPERTIES LABELS unit TIMEOUT 120
    SKIP_REGULAR_EXPRESSION "skipped: clang\\+\\+ not found")
endforeach()
