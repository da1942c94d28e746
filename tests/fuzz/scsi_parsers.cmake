iser_fuzz_target(scsi_parsers
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/scsi_parsers.cpp
  LIBS iser_scsi
  CORPUS ${CMAKE_CURRENT_SOURCE_DIR}/corpus/scsi_parsers
  SECONDS 15)
