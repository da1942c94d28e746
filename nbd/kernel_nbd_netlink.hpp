// Generic netlink messages of the kernel NBD driver (linux/nbd-netlink.h), built and parsed
// without talking to the kernel, so unit tests can check them byte for byte. KernelNbd sends
// them. Attribute types follow the driver's policy: INDEX and SOCK_FD are u32; SIZE_BYTES,
// BLOCK_SIZE_BYTES, SERVER_FLAGS and DEAD_CONN_TIMEOUT are u64; BACKEND_IDENTIFIER a string.
#pragma once
#include <memory>
#include <span>
#include <string>

#include "common/result.hpp"
#include "nbd/kernel_nbd.hpp"

struct nl_msg;
struct nlmsghdr;

namespace iser::nbd {

struct NlMsgFree {
    void operator()(nl_msg* msg) const;
};
using NlMsgPtr = std::unique_ptr<nl_msg, NlMsgFree>;

// NBD_CMD_CONNECT for `family` (the resolved id of "nbd"), handing over `kernel_fds` (one per
// connection). Validates the config first.
Result<NlMsgPtr> build_connect_message(int family, const KernelNbdConfig& config, std::span<const int> kernel_fds);

// NBD_CMD_DISCONNECT for /dev/nbd<index>.
Result<NlMsgPtr> build_disconnect_message(int family, int index);

// NBD_CMD_RECONFIGURE of /dev/nbd<index> with a new NBD_ATTR_SIZE_BYTES: the live device
// takes the new size (Linux 5.3+). `size_bytes` must be a non-zero multiple of `block_size`.
// A device connected with a backend identifier is only reconfigured when the same identifier
// comes along (the driver answers EINVAL "must specify backend" otherwise).
Result<NlMsgPtr> build_resize_message(int family, int index, std::uint64_t size_bytes, std::uint32_t block_size,
                                      const std::string& backend_identifier);

// The device index from the driver's reply to NBD_CMD_CONNECT (NBD_ATTR_INDEX); EPROTO when
// the reply has none.
Result<int> parse_connect_reply(nlmsghdr* reply);

}  // namespace iser::nbd
