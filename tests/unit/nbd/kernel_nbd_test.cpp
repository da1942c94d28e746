// The kernel NBD frontend without the kernel: netlink messages against golden bytes (layout of
// linux/nbd-netlink.h: 4-byte attribute headers in host order, payloads padded to 4 bytes),
// config validation, and connect() on a host without the nbd module.
#include <doctest/doctest.h>

#include <linux/nbd-netlink.h>
#include <netlink/attr.h>
#include <netlink/genl/genl.h>
#include <netlink/msg.h>
#include <sys/stat.h>

#include <cstring>
#include <vector>

#include "nbd/kernel_nbd.hpp"
#include "nbd/kernel_nbd_netlink.hpp"

using namespace iser;
using namespace iser::nbd;

namespace {

// libnl marks nests with NLA_F_NESTED; the driver masks the flag off (nla_type()).
constexpr std::uint16_t kNested = NLA_F_NESTED;

// Everything after the netlink header: the generic netlink header and the attributes.
std::vector<std::uint8_t> body(nl_msg* msg) {
    nlmsghdr* h = nlmsg_hdr(msg);
    auto* p = static_cast<const std::uint8_t*>(nlmsg_data(h));
    return {p, p + nlmsg_datalen(h)};
}

// Little-endian builders for the golden bytes (netlink attributes are in host order; the
// project only builds for little-endian x86-64 and arm64).
struct Golden {
    std::vector<std::uint8_t> b;
    Golden& u8(std::uint8_t v) { b.push_back(v); return *this; }
    Golden& u16(std::uint16_t v) { return u8(v & 0xff).u8(v >> 8); }
    Golden& u32(std::uint32_t v) { return u16(v & 0xffff).u16(v >> 16); }
    Golden& u64(std::uint64_t v) { return u32(std::uint32_t(v)).u32(std::uint32_t(v >> 32)); }
    Golden& attr(std::uint16_t len, std::uint16_t type) { return u16(len).u16(type); }
};

KernelNbdConfig config() {
    KernelNbdConfig c;
    c.connections = 2;
    c.index = 3;
    c.size_bytes = 64ull << 20;
    c.block_size = 4096;
    c.server_flags = 0x0165;  // HAS_FLAGS | SEND_FLUSH | SEND_TRIM | SEND_WRITE_ZEROES | CAN_MULTI_CONN
    c.dead_conn_timeout = std::chrono::seconds(5);
    return c;
}

bool nbd_module_loaded() {
    struct stat st;
    return ::stat("/sys/module/nbd", &st) == 0;
}

}  // namespace

TEST_CASE("CONNECT message: every attribute, golden bytes") {
    const int fds[] = {7, 9};
    auto msg = build_connect_message(0x1d, config(), fds);
    REQUIRE(msg);
    nlmsghdr* h = nlmsg_hdr(msg->get());
    CHECK(h->nlmsg_type == 0x1d);  // the resolved family id
    Golden g;
    g.u8(NBD_CMD_CONNECT).u8(NBD_GENL_VERSION).u16(0);   // genlmsghdr
    g.attr(8, NBD_ATTR_INDEX).u32(3);
    g.attr(12, NBD_ATTR_SIZE_BYTES).u64(64ull << 20);
    g.attr(12, NBD_ATTR_BLOCK_SIZE_BYTES).u64(4096);
    g.attr(12, NBD_ATTR_SERVER_FLAGS).u64(0x0165);
    g.attr(12, NBD_ATTR_DEAD_CONN_TIMEOUT).u64(5);
    g.attr(4 + 2 * 12, NBD_ATTR_SOCKETS | kNested);
    g.attr(12, NBD_SOCK_ITEM | kNested).attr(8, NBD_SOCK_FD).u32(7);
    g.attr(12, NBD_SOCK_ITEM | kNested).attr(8, NBD_SOCK_FD).u32(9);
    CHECK(body(msg->get()) == g.b);
    CHECK(h->nlmsg_len == NLMSG_HDRLEN + g.b.size());
}

TEST_CASE("CONNECT message: optional attributes left out, backend identifier padded") {
    auto c = config();
    c.connections = 1;
    c.index = -1;  // any free device: no INDEX
    c.dead_conn_timeout = std::chrono::seconds(0);
    c.block_size = 512;
    c.size_bytes = 1ull << 30;
    c.server_flags = 0x0001;
    c.backend_identifier = "lun1";  // 5 bytes with the NUL, padded to 8
    const int fds[] = {42};
    auto msg = build_connect_message(30, c, fds);
    REQUIRE(msg);
    Golden g;
    g.u8(NBD_CMD_CONNECT).u8(NBD_GENL_VERSION).u16(0);
    g.attr(12, NBD_ATTR_SIZE_BYTES).u64(1ull << 30);
    g.attr(12, NBD_ATTR_BLOCK_SIZE_BYTES).u64(512);
    g.attr(12, NBD_ATTR_SERVER_FLAGS).u64(1);
    g.attr(9, NBD_ATTR_BACKEND_IDENTIFIER).u8('l').u8('u').u8('n').u8('1').u8(0).u8(0).u8(0).u8(0);
    g.attr(4 + 12, NBD_ATTR_SOCKETS | kNested);
    g.attr(12, NBD_SOCK_ITEM | kNested).attr(8, NBD_SOCK_FD).u32(42);
    CHECK(body(msg->get()) == g.b);
}

TEST_CASE("CONNECT message: one socket per connection") {
    const int one[] = {7};
    auto msg = build_connect_message(30, config(), one);  // config() asks for 2
    REQUIRE_FALSE(msg);
    CHECK(msg.error().code == EINVAL);
}

TEST_CASE("DISCONNECT message: golden bytes") {
    auto msg = build_disconnect_message(0x1d, 12);
    REQUIRE(msg);
    CHECK(nlmsg_hdr(msg->get())->nlmsg_type == 0x1d);
    Golden g;
    g.u8(NBD_CMD_DISCONNECT).u8(NBD_GENL_VERSION).u16(0);
    g.attr(8, NBD_ATTR_INDEX).u32(12);
    CHECK(body(msg->get()) == g.b);
    CHECK_FALSE(build_disconnect_message(0x1d, -1));
}

TEST_CASE("CONNECT reply: the device index") {
    NlMsgPtr reply(nlmsg_alloc());
    REQUIRE(reply);
    REQUIRE(genlmsg_put(reply.get(), 0, 1, 0x1d, 0, 0, NBD_CMD_CONNECT, NBD_GENL_VERSION));
    REQUIRE(nla_put_u32(reply.get(), NBD_ATTR_INDEX, 5) == 0);
    auto index = parse_connect_reply(nlmsg_hdr(reply.get()));
    REQUIRE(index);
    CHECK(*index == 5);

    NlMsgPtr empty(nlmsg_alloc());
    REQUIRE(genlmsg_put(empty.get(), 0, 1, 0x1d, 0, 0, NBD_CMD_CONNECT, NBD_GENL_VERSION));
    auto none = parse_connect_reply(nlmsg_hdr(empty.get()));
    REQUIRE_FALSE(none);
    CHECK(none.error().code == EPROTO);
}

TEST_CASE("config validation") {
    CHECK(validate(config()));
    auto bad = [](auto change) {
        auto c = config();
        change(c);
        return !validate(c).ok();
    };
    CHECK(bad([](KernelNbdConfig& c) { c.connections = 0; }));
    CHECK(bad([](KernelNbdConfig& c) { c.connections = kMaxKernelNbdConnections + 1; }));
    CHECK(bad([](KernelNbdConfig& c) { c.block_size = 256; }));
    CHECK(bad([](KernelNbdConfig& c) { c.block_size = 8192; }));
    CHECK(bad([](KernelNbdConfig& c) { c.block_size = 1536; }));
    CHECK(bad([](KernelNbdConfig& c) { c.size_bytes = 0; }));
    CHECK(bad([](KernelNbdConfig& c) { c.size_bytes = 4096 * 3 + 512; }));
    CHECK(bad([](KernelNbdConfig& c) { c.max_io_bytes = 2048; }));
    CHECK(bad([](KernelNbdConfig& c) { c.dead_conn_timeout = std::chrono::seconds(-1); }));
    CHECK_FALSE(bad([](KernelNbdConfig& c) { c.max_io_bytes = 1 << 20; }));
}

TEST_CASE("connect() without the nbd module: a clear error, nothing served") {
    if (nbd_module_loaded()) {
        MESSAGE("the nbd module is loaded here: this case is for hosts without it");
        return;
    }
    Logger log(LogLevel::Error);
    bool served = false;
    KernelNbdConfig c = config();
    auto nbd = KernelNbd::connect(c, [&](std::vector<UniqueFd>) { served = true; return Status{}; }, log);
    REQUIRE_FALSE(nbd);
    CHECK(nbd.error().code == ENODEV);
    CHECK(nbd.error().message == "kernel NBD is not available: the nbd module is not loaded (modprobe nbd)");
    CHECK_FALSE(served);

    // A bad config is refused before netlink is touched.
    c.block_size = 100;
    auto invalid = KernelNbd::connect(c, [&](std::vector<UniqueFd>) { served = true; return Status{}; }, log);
    REQUIRE_FALSE(invalid);
    CHECK(invalid.error().code == EINVAL);
    CHECK_FALSE(served);
}

TEST_CASE("RECONFIGURE resize message: golden bytes, no block size") {
    auto msg = build_resize_message(0x1d, 3, 96ull << 20, 512, "");
    REQUIRE(msg);
    CHECK(nlmsg_hdr(msg->get())->nlmsg_type == 0x1d);
    Golden g;
    g.u8(NBD_CMD_RECONFIGURE).u8(NBD_GENL_VERSION).u16(0);
    g.attr(8, NBD_ATTR_INDEX).u32(3);
    g.attr(12, NBD_ATTR_SIZE_BYTES).u64(96ull << 20);
    CHECK(body(msg->get()) == g.b);
    CHECK(NBD_CMD_RECONFIGURE == 3);
    CHECK(NBD_ATTR_SIZE_BYTES == 2);
}

TEST_CASE("RECONFIGURE resize message: repeats the backend identifier the device was connected with") {
    auto msg = build_resize_message(0x1d, 3, 96ull << 20, 512, "iqn.x:lun0");
    REQUIRE(msg);
    Golden g;
    g.u8(NBD_CMD_RECONFIGURE).u8(NBD_GENL_VERSION).u16(0);
    g.attr(8, NBD_ATTR_INDEX).u32(3);
    g.attr(12, NBD_ATTR_SIZE_BYTES).u64(96ull << 20);
    g.attr(15, NBD_ATTR_BACKEND_IDENTIFIER);
    for (char c : std::string("iqn.x:lun0")) g.u8(std::uint8_t(c));
    g.u8(0).u8(0);  // NUL, then padding to 4 bytes
    CHECK(body(msg->get()) == g.b);
}

TEST_CASE("RECONFIGURE resize message: refuses what the driver would") {
    CHECK(build_resize_message(0x1d, -1, 1 << 20, 512, "").error().code == EINVAL);
    CHECK(build_resize_message(0x1d, 0, 0, 512, "").error().code == EINVAL);
    CHECK(build_resize_message(0x1d, 0, 1000, 512, "").error().code == EINVAL);
    CHECK(build_resize_message(0x1d, 0, 4096, 0, "").error().code == EINVAL);
}
