# abi:exports (tests/abi/check_exports.cmake): only the public API leaves
# the shared library.
if(TARGET h5tx AND NOT H5TX_SANITIZE)
  add_test(NAME abi:exports
    COMMAND ${CMAKE_COMMAND} -DLIB=$<TARGET_FILE:h5tx> -P ${CMAKE_CURRENT_LIST_DIR}/check_exports.cmake)
  set_tests_properties(abi:exports PROPERTIES LABELS unit TIMEOUT 60)
endif()
