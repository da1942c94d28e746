# The kernel-NBD netlink reply parser (nbd/kernel_nbd_netlink.cpp) over any reply to CONNECT.
iser_fuzz_target(nbd_netlink_reply
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/nbd_netlink_reply.cpp
  LIBS iser_nbd_kernel
  CORPUS ${CMAKE_CURRENT_LIST_DIR}/corpus/nbd_netlink_reply
  SECONDS 10)
