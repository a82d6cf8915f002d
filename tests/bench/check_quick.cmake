# Runs `h5tx-bench --quick` (BENCH) in WORK_DIR and checks its JSON report:
# it parses, has exactly the rows below (each measured, with its metrics),
# and evaluates every target. The I1py/python and DASK rows (and the target
# using I1py) may instead say the Python package is not built. Usage: cmake -DBENCH=... -DWORK_DIR=... -P check_quick.cmake
set(expected_rows
  W1/raw W1/plain W1/sqlite W1/copy+rename W1/h5tx-redo W1/h5tx-undo W1/h5tx-redo-noflusher
  W2/raw W2/plain W2/sqlite W2/h5tx-redo W2/h5tx-redo-history
  W3/raw W3/sqlite W3/h5tx-redo W3/h5tx-redo-noflusher
  W4/plain W4/per-write-fsync W4/undo-driver W4/h5tx-undo
  W5/plain W5/per-write-fsync W5/undo-driver W5/h5tx-undo
  W4slow/per-write-fsync W4slow/undo-driver W4slow/h5tx-undo
  FLUSH/small FLUSH/large OPEN/h5tx-redo
  I1/h5py I1/hdf5-c I1/h5tx-cli-redo I1/h5tx-cli-undo
  I1z/h5py I1z/hdf5-c I1z/h5tx-cli-redo I1z/h5tx-cli-undo
  I1py/cpp I1py/python
  DASK1/h5py-lock DASK1/h5tx-resumable DASK1/h5tx-atomic DASK2/h5py-lock DASK2/h5tx-resumable DASK2/h5tx-atomic
  CHECK/h5tx SCALE/small SCALE/mid SCALE/large
  W6/h5tx-procs-1 W6/h5tx-procs-2 W6/h5tx-procs-4 W6/h5tx-threads-1 W6/h5tx-threads-2 W6/h5tx-threads-4 W6/plain-procs-1 W6/plain-procs-2 W6/plain-procs-4 W6L/h5tx-procs-1 W6L/h5tx-procs-2 W6L/h5tx-procs-4 W6L/h5tx-threads-1 W6L/h5tx-threads-2 W6L/h5tx-threads-4 W6L/plain-procs-1 W6L/plain-procs-2 W6L/plain-procs-4)
set(expected_targets 20)
set(not_built "Python package not built")

file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})
execute_process(
  COMMAND ${BENCH} --quick --dir ${WORK_DIR}/scratch --json ${WORK_DIR}/quick.json --md ${WORK_DIR}/quick.md
  RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "h5tx-bench --quick failed: ${rc}")
endif()
file(READ ${WORK_DIR}/quick.json json)

string(JSON nrows ERROR_VARIABLE err LENGTH "${json}" rows)
if(err)
  message(FATAL_ERROR "quick.json does not parse: ${err}")
endif()
list(LENGTH expected_rows nexpected)
if(NOT nrows EQUAL nexpected)
  message(FATAL_ERROR "quick.json has ${nrows} rows, expected ${nexpected}")
endif()
math(EXPR last "${nrows} - 1")
set(failures "")
foreach(i RANGE ${last})
  list(GET expected_rows ${i} want)
  string(JSON id GET "${json}" rows ${i} id)
  if(NOT id STREQUAL want)
    message(FATAL_ERROR "row ${i} is ${id}, expected ${want}")
  endif()
  string(JSON measured GET "${json}" rows ${i} measured)
  if(NOT measured)
    string(JSON why GET "${json}" rows ${i} not_measured)
    string(FIND "${why}" "${not_built}" pos)
    if((id STREQUAL "I1py/python" OR id MATCHES "^DASK[12]/") AND pos GREATER -1)
      message(STATUS "bench:quick: ${id} not measured: ${why}")
      continue()
    endif()
    list(APPEND failures "${id}: not measured: ${why}")
    continue()
  endif()
  string(JSON rss GET "${json}" rows ${i} metrics rss_mib)
  if(NOT rss GREATER 0)
    list(APPEND failures "${id}: rss_mib ${rss}")
  endif()
  if(id MATCHES "^W6")
    # Writers in several processes: throughput over all of them, no latencies.
    set(metrics tx_per_s mib_per_s seconds)
  else()
    set(metrics tx_per_s mib_per_s lat_p50_ms lat_p99_ms seconds)
  endif()
  if(id MATCHES "^W")
    foreach(m ${metrics})
      string(JSON v ERROR_VARIABLE err GET "${json}" rows ${i} metrics ${m})
      if(err OR NOT v GREATER 0)
        list(APPEND failures "${id}: metric ${m} missing or not positive (${v})")
      endif()
    endforeach()
  endif()
endforeach()
foreach(pair "FLUSH/small;flush_seconds" "FLUSH/large;flush_seconds" "OPEN/h5tx-redo;open_ms"
             "OPEN/h5tx-redo;manifest_read_ms" "W2/h5tx-redo;commit_mib_per_s"
             "I1/h5tx-cli-redo;mib_per_s" "I1/h5py;in_script_seconds" "I1z/h5tx-cli-undo;mib_per_s"
             "I1py/cpp;mib_per_s" "CHECK/h5tx;check_seconds" "CHECK/h5tx;h5py_read_seconds"
             "SCALE/large;s_per_gib" "W2/h5tx-redo-history;history_bytes")
  list(GET pair 0 id)
  list(GET pair 1 m)
  list(FIND expected_rows ${id} i)
  string(JSON v ERROR_VARIABLE err GET "${json}" rows ${i} metrics ${m})
  if(err OR NOT v GREATER 0)
    list(APPEND failures "${id}: metric ${m} missing or not positive")
  endif()
endforeach()

string(JSON ntargets LENGTH "${json}" targets)
if(NOT ntargets EQUAL expected_targets)
  message(FATAL_ERROR "quick.json has ${ntargets} targets, expected ${expected_targets}")
endif()
math(EXPR last "${ntargets} - 1")
foreach(i RANGE ${last})
  string(JSON t GET "${json}" targets ${i} target)
  string(JSON type TYPE "${json}" targets ${i} measured)
  if(NOT type STREQUAL "NUMBER")
    string(JSON why ERROR_VARIABLE err GET "${json}" targets ${i} not_measured)
    string(FIND "${why}" "${not_built}" pos)
    if(pos GREATER -1)
      continue()
    endif()
    list(APPEND failures "target '${t}' not evaluated")
  endif()
endforeach()

if(failures)
  string(REPLACE ";" "\n  " text "${failures}")
  message(FATAL_ERROR "h5tx-bench --quick report is incomplete:\n  ${text}")
endif()
file(REMOVE_RECURSE ${WORK_DIR})
message(STATUS "bench:quick: ${nrows} rows and ${ntargets} targets, all measured")
