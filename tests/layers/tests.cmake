# The layer check (cmake/check_layers.cmake): src/ passes, and a tree with a
# lower layer including a higher one fails.
add_test(NAME layers:src COMMAND ${CMAKE_COMMAND} -DSRC=${PROJECT_SOURCE_DIR}/src
                                  -P ${PROJECT_SOURCE_DIR}/cmake/check_layers.cmake)
add_test(NAME layers:violation_fails COMMAND ${CMAKE_COMMAND} -DSRC=${CMAKE_CURRENT_LIST_DIR}/bad
                                  -P ${PROJECT_SOURCE_DIR}/cmake/check_layers.cmake)
set_tests_properties(layers:src PROPERTIES LABELS unit)
set_tests_properties(layers:violation_fails PROPERTIES LABELS unit WILL_FAIL TRUE)
