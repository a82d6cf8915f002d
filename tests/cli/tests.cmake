# CLI tests: tests/cli*_test.cpp. The unit tests compile the tool's pieces
# (every tools/h5tx/*.cpp except main.cpp) and include their headers; the
# end-to-end tests (cli_test) run the real binary, so they depend on it.
file(GLOB H5TX_CLI_PARTS CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/tools/h5tx/*.cpp)
list(FILTER H5TX_CLI_PARTS EXCLUDE REGEX "/main\\.cpp$")
add_library(h5tx_cli_parts STATIC ${H5TX_CLI_PARTS})
target_compile_options(h5tx_cli_parts PRIVATE -Wall -Wextra)
target_include_directories(h5tx_cli_parts PUBLIC ${PROJECT_SOURCE_DIR}/tools/h5tx)
target_link_libraries(h5tx_cli_parts PUBLIC h5tx_internal)
file(GLOB H5TX_CLI_TESTS CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/cli*_test.cpp)
foreach(src ${H5TX_CLI_TESTS})
  get_filename_component(name ${src} NAME_WE)
  target_link_libraries(${name} PRIVATE h5tx_cli_parts)
  if(TARGET h5tx_cli)
    add_dependencies(${name} h5tx_cli)
  endif()
endforeach()

# The user guide's C++ example (docs/examples/quickstart.cpp, included
# verbatim in docs/user-guide.md; cli_guide_test checks the copy): built
# against the library and run twice on a fresh directory (the second run
# opens the store the first one made).
add_executable(guide_quickstart ${PROJECT_SOURCE_DIR}/docs/examples/quickstart.cpp)
target_compile_options(guide_quickstart PRIVATE -Wall -Wextra)
target_link_libraries(guide_quickstart PRIVATE h5tx)
add_test(NAME guide_quickstart
  COMMAND ${CMAKE_COMMAND} -E env sh -c "rm -rf \"$1\" && \"$0\" \"$1\" && \"$0\" \"$1\" && h5dump -d /raw/image -s 10,48 -c 1,4 \"$1/data/vol.h5\""
          $<TARGET_FILE:guide_quickstart> ${CMAKE_CURRENT_BINARY_DIR}/guide-quickstart-store)
set_tests_properties(guide_quickstart PROPERTIES PASS_REGULAR_EXPRESSION "7, 7, 42, 42" TIMEOUT 120 LABELS cli)

# Bash completion (h5tx completion bash, generated into build/completion/h5tx
# and installed): bash sources it and completes h5tx in<TAB>, ingest --ch<TAB>, ...
if(TARGET h5tx_cli)
  add_test(NAME cli_completion:bash
    COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/completion_test.sh $<TARGET_FILE:h5tx_cli> ${PROJECT_BINARY_DIR}/completion/h5tx)
  set_tests_properties(cli_completion:bash PROPERTIES TIMEOUT 60 LABELS cli)
endif()

# Every documented command: the `h5tx ...` lines of docs/user-guide.md's sh
# blocks, run in order against a fresh store in a scratch directory (the
# guide's /data/ paths become the scratch directory's data/), each must
# exit 0 or as the guide says (tests/cli/guide_commands.py).
if(TARGET h5tx_cli)
  find_package(Python3 REQUIRED COMPONENTS Interpreter)
  add_test(NAME cli_guide:commands
    COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/guide_commands.py
            ${PROJECT_SOURCE_DIR}/docs/user-guide.md $<TARGET_FILE:h5tx_cli> ${CMAKE_CURRENT_BINARY_DIR}/guide-commands)
  set_tests_properties(cli_guide:commands PROPERTIES TIMEOUT 900 LABELS cli)
endif()
