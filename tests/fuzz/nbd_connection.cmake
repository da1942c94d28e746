# nbd::Connection (nbd/connection.cpp) over a client's bytes on a socketpair, handshake and
# transmission, against an in-memory backend.
iser_fuzz_target(nbd_connection
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/nbd_connection.cpp
  LIBS iser_nbd
  CORPUS ${CMAKE_CURRENT_LIST_DIR}/corpus/nbd_connection
  SECONDS 10)
