# The control-socket wire decoder (control/wire.cpp) over untrusted request and reply lines.
if(ISER_FUZZ)
  if(NOT TARGET iser_control)
    add_subdirectory(${CMAKE_CURRENT_LIST_DIR}/../../control ${CMAKE_BINARY_DIR}/control)
  endif()
endif()
iser_fuzz_target(control_wire
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/control_wire.cpp
  LIBS iser_control
  CORPUS ${CMAKE_CURRENT_LIST_DIR}/corpus/control_wire
  SECONDS 15)
