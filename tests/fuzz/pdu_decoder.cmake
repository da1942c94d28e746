iser_fuzz_target(pdu_decoder
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/pdu_decoder.cpp
  LIBS iser_pdu
  CORPUS ${CMAKE_CURRENT_SOURCE_DIR}/corpus/pdu_decoder
  SECONDS 15)
