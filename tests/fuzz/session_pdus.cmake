# The session layer (initiator/session/) over target PDUs in any order, driven through the
# scripted FakeTarget of the session unit tests.
iser_fuzz_target(session_pdus
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/session_pdus.cpp ${CMAKE_CURRENT_LIST_DIR}/../unit/session/fake_target.cpp
  LIBS iser_session iser_login iser_scsi iser_pdu iser_common
  CORPUS ${CMAKE_CURRENT_LIST_DIR}/corpus/session_pdus
  SECONDS 10)
