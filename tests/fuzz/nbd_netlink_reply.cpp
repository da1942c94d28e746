// Fuzzes the kernel-NBD netlink reply parser (nbd/kernel_nbd_netlink.cpp, parse_connect_reply):
// the input is what follows the netlink header (the generic netlink header and the attributes).
// The header is built here with nlmsg_len covering exactly the input, which is what the socket
// layer guarantees before libnl hands a message on; the buffer is allocated at exactly that size
// so ASan sees any read past the message.
#include <linux/netlink.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "nbd/kernel_nbd_netlink.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size > 65536) return 0;
    const std::size_t total = NLMSG_HDRLEN + size;
    auto buffer = std::make_unique<std::uint8_t[]>(total);  // malloc-aligned, as libnl's buffers
    auto* header = reinterpret_cast<nlmsghdr*>(buffer.get());
    header->nlmsg_len = std::uint32_t(total);
    header->nlmsg_type = 0x1d;  // the resolved "nbd" family; the parser does not look at it
    header->nlmsg_flags = 0;
    header->nlmsg_seq = 1;
    header->nlmsg_pid = 0;
    if (size) std::memcpy(buffer.get() + NLMSG_HDRLEN, data, size);
    auto index = iser::nbd::parse_connect_reply(header);
    if (index && *index < 0) std::abort();
    if (!index && index.error().code != EPROTO) std::abort();
    return 0;
}
