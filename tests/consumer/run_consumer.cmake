# Installs the build tree into a scratch prefix, configures and builds the
# consumer project against it, and runs the consumer (which asserts itself).
# Then builds the quick start (QUICKSTART) with pkg-config against the same
# prefix (PKG_CONFIG_PATH=<prefix>/<LIBDIR>/pkgconfig) and runs it twice.
file(REMOVE_RECURSE ${WORK_DIR})
execute_process(COMMAND ${CMAKE_COMMAND} --install ${H5TX_BUILD_DIR} --prefix ${WORK_DIR}/prefix
  RESULT_VARIABLE rc OUTPUT_QUIET)
if(rc)
  message(FATAL_ERROR "install failed: ${rc}")
endif()
foreach(kind shared static)
  set(b ${WORK_DIR}/build-${kind})
  if(kind STREQUAL static)
    set(use_static ON)
  else()
    set(use_static OFF)
  endif()
  execute_process(COMMAND ${CMAKE_COMMAND} -S ${PROJECT_DIR} -B ${b}
      -DCMAKE_PREFIX_PATH=${WORK_DIR}/prefix -DUSE_STATIC=${use_static}
    RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(rc)
    message(FATAL_ERROR "configuring the consumer (${kind}) failed:\n${out}")
  endif()
  execute_process(COMMAND ${CMAKE_COMMAND} --build ${b} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(rc)
    message(FATAL_ERROR "building the consumer (${kind}) failed:\n${out}")
  endif()
  execute_process(COMMAND ${b}/consumer ${WORK_DIR}/scratch-${kind} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  message(STATUS "consumer (${kind}): ${out}")
  if(rc)
    message(FATAL_ERROR "consumer (${kind}) failed: ${rc}\n${out}")
  endif()
endforeach()

# pkg-config: the installed h5tx.pc, as the user guide's "Installing" says.
set(prefix ${WORK_DIR}/prefix)
set(pcdir ${prefix}/${LIBDIR}/pkgconfig)
if(NOT EXISTS ${pcdir}/h5tx.pc)
  message(FATAL_ERROR "no h5tx.pc installed in ${pcdir}")
endif()
execute_process(COMMAND sh -c "PKG_CONFIG_PATH='${pcdir}' pkg-config --cflags --libs h5tx"
  RESULT_VARIABLE rc OUTPUT_VARIABLE flags ERROR_VARIABLE err OUTPUT_STRIP_TRAILING_WHITESPACE)
if(rc)
  message(FATAL_ERROR "pkg-config --cflags --libs h5tx failed: ${err}")
endif()
message(STATUS "pkg-config --cflags --libs h5tx: ${flags}")
if(NOT flags MATCHES "-I${prefix}/include" OR NOT flags MATCHES "-L${prefix}/${LIBDIR}")
  message(FATAL_ERROR "pkg-config does not point at the install prefix ${prefix}: ${flags}")
endif()
set(qs ${WORK_DIR}/quickstart-pkgconfig)
execute_process(COMMAND sh -c "PKG_CONFIG_PATH='${pcdir}' && export PKG_CONFIG_PATH && \"${CXX}\" -std=c++17 -o '${qs}' '${QUICKSTART}' $(pkg-config --cflags --libs h5tx)"
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
if(rc)
  message(FATAL_ERROR "building the quick start with pkg-config failed:\n${out}")
endif()
foreach(round 1 2)
  execute_process(COMMAND ${CMAKE_COMMAND} -E env LD_LIBRARY_PATH=${prefix}/${LIBDIR} ${qs} ${WORK_DIR}/quickstart-store
    RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  message(STATUS "quick start (pkg-config, run ${round}): ${out}")
  if(rc OR NOT out MATCHES "7 7 42 42")
    message(FATAL_ERROR "the quick start built with pkg-config failed (run ${round}): ${rc}\n${out}")
  endif()
endforeach()
# It ran against the installed library, not the build tree's.
execute_process(COMMAND sh -c "LD_LIBRARY_PATH='${prefix}/${LIBDIR}' ldd '${qs}'" OUTPUT_VARIABLE out)
if(NOT out MATCHES "${prefix}/${LIBDIR}/libh5tx.so")
  message(FATAL_ERROR "the quick start is not linked to the installed libh5tx.so:\n${out}")
endif()
