# The ublk device record decoder (ublk/device_record.cpp) over corrupt or planted record files.
iser_fuzz_target(ublk_record
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/ublk_record.cpp
  LIBS iser_ublk
  CORPUS ${CMAKE_CURRENT_LIST_DIR}/corpus/ublk_record
  SECONDS 10)
