iser_fuzz_target(iser_receive
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/iser_receive.cpp
  LIBS iser_datamover_iser_wire
  CORPUS ${CMAKE_CURRENT_SOURCE_DIR}/corpus/iser_receive
  SECONDS 15)
