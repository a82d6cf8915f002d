# CLI tests: tests/cli*_test.cpp. The unit tests compile the tool's pieces
# (every tools/h5tx/*.cpp except main.cpp) and include their headers; the
# end-to-end tests (cli_test) run the real binary, so they depend on it.
file(GLOB H5TX_CLI_PARTS CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/tools/h5tx/*.cpp)
list(FILTER H5TX_CLI_PARTS EXCLUDE REGEX "/main\\.cpp$")
if(H5TX_BUILD_TOOLS)
  add_library(h5tx_cli_parts STATIC ${H5TX_CLI_PARTS})
  target_compile_options(h5tx_cli_parts PRIVATE -Wall -Wextra)
  target_include_directories(h5tx_cli_parts PUBLIC ${PROJECT_SOURCE_DIR}/tools/h5tx)
  target_link_libraries(h5tx_cli_parts PUBLIC h5tx_objects)
  file(GLOB H5TX_CLI_TESTS CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/cli*_test.cpp)
  foreach(src ${H5TX_CLI_TESTS})
    get_filename_component(name ${src} NAME_WE)
    target_link_libraries(${name} PRIVATE h5tx_cli_parts)
    add_dependencies(${name} h5tx_cli)
  endforeach()
endif()
