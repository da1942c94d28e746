# The iSCSI/TCP receive framing (initiator/datamover/tcp/pdu_receiver.cpp) over a target's byte
# stream split at arbitrary points.
iser_fuzz_target(tcp_framing
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/tcp_framing.cpp
  LIBS iser_datamover_tcp
  CORPUS ${CMAKE_CURRENT_LIST_DIR}/corpus/tcp_framing
  SECONDS 10)
