# bench:quick: runs the benchmark driver on the --quick sizes (a smoke test,
# no timing is asserted) and checks that its JSON parses and holds every
# row of the table, each measured, and every target of issues 7 and 13.
if(TARGET h5tx_bench)
  add_test(NAME bench:quick
    COMMAND ${CMAKE_COMMAND}
      -DBENCH=$<TARGET_FILE:h5tx_bench>
      -DWORK_DIR=${CMAKE_CURRENT_BINARY_DIR}/bench-quick
      -P ${CMAKE_CURRENT_LIST_DIR}/check_quick.cmake)
  # Timing-sensitive neighbours would only slow it down; it fsyncs a lot.
  set_tests_properties(bench:quick PROPERTIES TIMEOUT 600 RUN_SERIAL TRUE LABELS slow)
endif()
