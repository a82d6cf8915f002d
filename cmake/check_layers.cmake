# The layering of docs/design.md, enforced: a file under src/<layer>/ may
# include headers of its own layer and the layers below it only:
#   util < io < hdf5 < undo < journal < flush < store
# (include/h5tx/ is the public API, below them all; src/io/testing is the
# test Env and sits with io). Run with -DSRC=<a src/ tree>; fails naming
# every include that points up. The build runs it on src/ before compiling
# the library (target h5tx_check_layers); CTest also runs it on a tree with
# a planted violation and requires it to fail (tests/layers).
set(layers util io hdf5 undo journal flush store)
if(NOT SRC)
  message(FATAL_ERROR "check_layers.cmake: pass -DSRC=<src dir>")
endif()
set(errors "")
foreach(layer IN LISTS layers)
  list(FIND layers ${layer} rank)
  file(GLOB_RECURSE files ${SRC}/${layer}/*.cpp ${SRC}/${layer}/*.hpp)
  foreach(f IN LISTS files)
    file(STRINGS ${f} incs REGEX "^[ \t]*#[ \t]*include[ \t]+\"[a-z0-9_]+/")
    foreach(inc IN LISTS incs)
      string(REGEX REPLACE "^[ \t]*#[ \t]*include[ \t]+\"([a-z0-9_]+)/.*" "\\1" target "${inc}")
      list(FIND layers ${target} target_rank)
      if(target_rank GREATER rank)
        file(RELATIVE_PATH rel ${SRC} ${f})
        string(APPEND errors "  ${rel}: ${inc} (layer ${layer} includes the higher layer ${target})\n")
      endif()
    endforeach()
  endforeach()
endforeach()
if(errors)
  message(FATAL_ERROR "include of a higher layer (docs/design.md, Layers):\n${errors}")
endif()
