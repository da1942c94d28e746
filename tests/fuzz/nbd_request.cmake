iser_fuzz_target(nbd_request
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/nbd_request.cpp
  LIBS iser_nbd
  CORPUS ${CMAKE_CURRENT_SOURCE_DIR}/corpus/nbd_request
  SECONDS 15)
