# The layering, enforced twice:
# - the script (cmake/check_layers.cmake) passes on src/ and fails on a tree
#   with a lower layer including a higher one;
# - the targets: a file compiled with the flush layer's usage requirements
#   (target h5tx_flush) cannot include a store header ("No such file"),
#   while headers of its own layer and below compile. The two planted
#   targets are outside `all`; the tests build them.
add_test(NAME layers:src COMMAND ${CMAKE_COMMAND} -DSRC=${PROJECT_SOURCE_DIR}/src
                                  -P ${PROJECT_SOURCE_DIR}/cmake/check_layers.cmake)
add_test(NAME layers:violation_fails COMMAND ${CMAKE_COMMAND} -DSRC=${CMAKE_CURRENT_LIST_DIR}/bad
                                  -P ${PROJECT_SOURCE_DIR}/cmake/check_layers.cmake)
set_tests_properties(layers:src PROPERTIES LABELS unit)
set_tests_properties(layers:violation_fails PROPERTIES LABELS unit WILL_FAIL TRUE)

foreach(case flush_includes_store flush_includes_journal)
  add_library(layers_${case} OBJECT EXCLUDE_FROM_ALL ${CMAKE_CURRENT_LIST_DIR}/targets/${case}.cpp)
  target_link_libraries(layers_${case} PRIVATE h5tx_flush)
  add_test(NAME layers:target_${case}
    COMMAND ${CMAKE_COMMAND} --build ${PROJECT_BINARY_DIR} --target layers_${case})
endforeach()
# gcc: "store/impl.hpp: No such file"; clang: "'store/impl.hpp' file not found".
set_tests_properties(layers:target_flush_includes_store PROPERTIES LABELS unit
  PASS_REGULAR_EXPRESSION "store/impl.hpp: No such file;'store/impl.hpp' file not found")
set_tests_properties(layers:target_flush_includes_journal PROPERTIES LABELS unit)
