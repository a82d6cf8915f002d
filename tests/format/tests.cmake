# format:check: every C++ source is formatted as .clang-format says
# (tools/format.sh --check; fix with tools/format.sh). Skipped without
# clang-format or outside a git checkout.
find_program(H5TX_CLANG_FORMAT NAMES clang-format clang-format-14)
if(H5TX_CLANG_FORMAT AND EXISTS ${PROJECT_SOURCE_DIR}/.git)
  add_test(NAME format:check COMMAND ${PROJECT_SOURCE_DIR}/tools/format.sh --check)
  set_tests_properties(format:check PROPERTIES LABELS unit TIMEOUT 300)
endif()
