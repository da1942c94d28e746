#include "nbd/kernel_nbd_netlink.hpp"

#include <linux/nbd-netlink.h>
#include <netlink/attr.h>
#include <netlink/genl/genl.h>
#include <netlink/msg.h>

#include <cerrno>

namespace iser::nbd {

void NlMsgFree::operator()(nl_msg* msg) const { nlmsg_free(msg); }

namespace {

Result<NlMsgPtr> new_request(int family, std::uint8_t command) {
    NlMsgPtr msg(nlmsg_alloc());
    if (!msg) return make_error(ENOMEM, "nbd netlink: cannot allocate a message");
    // Port and sequence are filled in by nl_send_auto(); no header flags beyond REQUEST/ACK.
    if (!genlmsg_put(msg.get(), NL_AUTO_PORT, NL_AUTO_SEQ, family, 0, 0, command, NBD_GENL_VERSION))
        return make_error(ENOMEM, "nbd netlink: no room for the generic netlink header");
    return msg;
}

Error too_long() { return Error{EMSGSIZE, "nbd netlink: message too long"}; }

}  // namespace

Result<NlMsgPtr> build_connect_message(int family, const KernelNbdConfig& config, std::span<const int> kernel_fds) {
    ISER_TRY(validate(config));
    if (kernel_fds.size() != config.connections)
        return make_error(EINVAL, "nbd netlink: one socket per connection is needed");
    auto msg = new_request(family, NBD_CMD_CONNECT);
    if (!msg) return msg.take_error();
    nl_msg* m = msg->get();
    if (config.index >= 0 && nla_put_u32(m, NBD_ATTR_INDEX, std::uint32_t(config.index)) < 0) return too_long();
    if (nla_put_u64(m, NBD_ATTR_SIZE_BYTES, config.size_bytes) < 0 ||
        nla_put_u64(m, NBD_ATTR_BLOCK_SIZE_BYTES, config.block_size) < 0 ||
        nla_put_u64(m, NBD_ATTR_SERVER_FLAGS, config.server_flags) < 0)
        return too_long();
    if (config.dead_conn_timeout.count() > 0 &&
        nla_put_u64(m, NBD_ATTR_DEAD_CONN_TIMEOUT, std::uint64_t(config.dead_conn_timeout.count())) < 0)
        return too_long();
    if (!config.backend_identifier.empty() &&
        nla_put_string(m, NBD_ATTR_BACKEND_IDENTIFIER, config.backend_identifier.c_str()) < 0)
        return too_long();
    nlattr* sockets = nla_nest_start(m, NBD_ATTR_SOCKETS);
    if (!sockets) return too_long();
    for (int fd : kernel_fds) {
        nlattr* item = nla_nest_start(m, NBD_SOCK_ITEM);
        if (!item || nla_put_u32(m, NBD_SOCK_FD, std::uint32_t(fd)) < 0) return too_long();
        nla_nest_end(m, item);
    }
    nla_nest_end(m, sockets);
    return msg;
}

Result<NlMsgPtr> build_disconnect_message(int family, int index) {
    if (index < 0) return make_error(EINVAL, "nbd netlink: no device index to disconnect");
    auto msg = new_request(family, NBD_CMD_DISCONNECT);
    if (!msg) return msg.take_error();
    if (nla_put_u32(msg->get(), NBD_ATTR_INDEX, std::uint32_t(index)) < 0) return too_long();
    return msg;
}

Result<NlMsgPtr> build_resize_message(int family, int index, std::uint64_t size_bytes, std::uint32_t block_size,
                                      const std::string& backend_identifier) {
    if (index < 0) return make_error(EINVAL, "nbd netlink: no device index to resize");
    if (block_size == 0 || size_bytes == 0 || size_bytes % block_size != 0)
        return make_error(EINVAL, "nbd netlink: a new size must be a non-zero multiple of the block size");
    auto msg = new_request(family, NBD_CMD_RECONFIGURE);
    if (!msg) return msg.take_error();
    // No BLOCK_SIZE_BYTES: the driver keeps the block size it has (it cannot change under a
    // mounted filesystem anyway).
    if (nla_put_u32(msg->get(), NBD_ATTR_INDEX, std::uint32_t(index)) < 0 ||
        nla_put_u64(msg->get(), NBD_ATTR_SIZE_BYTES, size_bytes) < 0)
        return too_long();
    if (!backend_identifier.empty() &&
        nla_put_string(msg->get(), NBD_ATTR_BACKEND_IDENTIFIER, backend_identifier.c_str()) < 0)
        return too_long();
    return msg;
}

Result<int> parse_connect_reply(nlmsghdr* reply) {
    nlattr* attrs[NBD_ATTR_MAX + 1] = {};
    if (genlmsg_parse(reply, 0, attrs, NBD_ATTR_MAX, nullptr) < 0)
        return make_error(EPROTO, "nbd netlink: malformed reply to CONNECT");
    nlattr* index = attrs[NBD_ATTR_INDEX];
    if (!index || nla_len(index) < int(sizeof(std::uint32_t)))
        return make_error(EPROTO, "nbd netlink: the reply to CONNECT carries no device index");
    std::uint32_t value = nla_get_u32(index);
    if (value > std::uint32_t(INT32_MAX)) return make_error(EPROTO, "nbd netlink: device index out of range");
    return int(value);
}

}  // namespace iser::nbd
