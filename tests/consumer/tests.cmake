# A separate CMake project built against the *installed* h5tx: proves that
# find_package(h5tx) works for a user's project (shared and static), and
# that the installed h5tx.pc builds the user guide's quick start with
# `g++ quickstart.cpp $(pkg-config --cflags --libs h5tx)`, which then runs.
if(NOT H5TX_SANITIZE)
  add_test(NAME consumer:find_package
    COMMAND ${CMAKE_COMMAND}
      -DH5TX_BUILD_DIR=${PROJECT_BINARY_DIR}
      -DWORK_DIR=${CMAKE_CURRENT_BINARY_DIR}/consumer
      -DPROJECT_DIR=${CMAKE_CURRENT_LIST_DIR}/project
      -DQUICKSTART=${PROJECT_SOURCE_DIR}/docs/examples/quickstart.cpp
      -DCXX=${CMAKE_CXX_COMPILER}
      -DLIBDIR=${CMAKE_INSTALL_LIBDIR}
      -P ${CMAKE_CURRENT_LIST_DIR}/run_consumer.cmake)
  set_tests_properties(consumer:find_package PROPERTIES TIMEOUT 600 RUN_SERIAL TRUE LABELS slow)
endif()
