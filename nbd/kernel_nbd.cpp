#include "nbd/kernel_nbd.hpp"

#include <fcntl.h>
#include <linux/nbd-netlink.h>
#include <netlink/errno.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "nbd/kernel_nbd_netlink.hpp"

namespace iser::nbd {
namespace {

constexpr const char* kNotAvailable = "kernel NBD is not available: the nbd module is not loaded (modprobe nbd)";

struct NlSockFree {
    void operator()(nl_sock* sock) const { nl_socket_free(sock); }
};
using NlSockPtr = std::unique_ptr<nl_sock, NlSockFree>;

struct NlCbFree {
    void operator()(nl_cb* cb) const { nl_cb_put(cb); }
};

// What one request/reply exchange saw: the kernel's errno (from NLMSG_ERROR) and, for CONNECT,
// the reply carrying the index.
struct Exchange {
    bool done = false;
    int kernel_error = 0;  // positive errno
    bool want_index = false;
    Result<int> index = Error{EPROTO, "nbd netlink: no reply to CONNECT"};
};

int on_valid(nl_msg* msg, void* arg) {
    auto* x = static_cast<Exchange*>(arg);
    if (x->want_index) x->index = parse_connect_reply(nlmsg_hdr(msg));
    return NL_OK;
}

int on_ack(nl_msg*, void* arg) {
    static_cast<Exchange*>(arg)->done = true;
    return NL_STOP;
}

int on_error(sockaddr_nl*, nlmsgerr* err, void* arg) {
    auto* x = static_cast<Exchange*>(arg);
    x->kernel_error = err->error < 0 ? -err->error : err->error;
    x->done = true;
    return NL_STOP;
}

// Sends `msg` and reads until the kernel's ACK or error. The kernel's errno comes back as the
// Error code.
Status exchange(nl_sock* sock, nl_msg* msg, Exchange& x, const char* what) {
    int rc = nl_send_auto(sock, msg);
    if (rc < 0) return make_error(EIO, std::string("nbd netlink: sending ") + what + ": " + nl_geterror(rc));
    std::unique_ptr<nl_cb, NlCbFree> cb(nl_cb_alloc(NL_CB_DEFAULT));
    if (!cb) return make_error(ENOMEM, "nbd netlink: cannot allocate callbacks");
    nl_cb_set(cb.get(), NL_CB_VALID, NL_CB_CUSTOM, on_valid, &x);
    nl_cb_set(cb.get(), NL_CB_ACK, NL_CB_CUSTOM, on_ack, &x);
    nl_cb_err(cb.get(), NL_CB_CUSTOM, on_error, &x);
    while (!x.done) {
        rc = nl_recvmsgs(sock, cb.get());
        if (x.kernel_error) break;
        if (rc < 0) return make_error(EIO, std::string("nbd netlink: reply to ") + what + ": " + nl_geterror(rc));
    }
    if (x.kernel_error)
        return make_error(x.kernel_error, std::string("kernel NBD refused ") + what + ": " + std::strerror(x.kernel_error));
    return {};
}

Result<std::pair<NlSockPtr, int>> open_nbd_family() {
    NlSockPtr sock(nl_socket_alloc());
    if (!sock) return make_error(ENOMEM, "nbd netlink: cannot allocate a socket");
    int rc = genl_connect(sock.get());
    if (rc < 0) return make_error(EIO, std::string("nbd netlink: cannot open a generic netlink socket: ") + nl_geterror(rc));
    int family = genl_ctrl_resolve(sock.get(), NBD_GENL_FAMILY_NAME);
    if (family == -NLE_OBJ_NOTFOUND) return make_error(ENODEV, kNotAvailable);
    if (family < 0)
        return make_error(EIO, std::string("nbd netlink: resolving the \"nbd\" family: ") + nl_geterror(family));
    return std::pair{std::move(sock), family};
}

struct SocketPair {
    UniqueFd ours;    // served by NbdServer, non-blocking
    UniqueFd kernel;  // handed to the driver; blocking, as its kernel threads expect
};

Result<SocketPair> make_socket_pair() {
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
        return make_error(errno, std::string("nbd: socketpair: ") + std::strerror(errno));
    SocketPair pair{UniqueFd(sv[0]), UniqueFd(sv[1])};
    int flags = ::fcntl(pair.ours.get(), F_GETFL);
    if (flags < 0 || ::fcntl(pair.ours.get(), F_SETFL, flags | O_NONBLOCK) != 0)
        return make_error(errno, std::string("nbd: making the server socket non-blocking: ") + std::strerror(errno));
    return pair;
}

// The kernel cannot be told the server's largest request over netlink; the block layer's
// max_sectors_kb caps what it sends.
Status limit_request_size(int index, std::uint32_t max_io_bytes) {
    const std::string path = "/sys/block/nbd" + std::to_string(index) + "/queue/max_sectors_kb";
    const std::string value = std::to_string(max_io_bytes / 1024);
    UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
    if (!fd.valid()) return make_error(errno, "nbd: cannot open " + path + ": " + std::strerror(errno));
    if (::write(fd.get(), value.data(), value.size()) != ssize_t(value.size()))
        return make_error(errno, "nbd: cannot write " + value + " to " + path + ": " + std::strerror(errno));
    return {};
}

}  // namespace

Status validate(const KernelNbdConfig& c) {
    if (c.connections == 0 || c.connections > kMaxKernelNbdConnections)
        return make_error(EINVAL, "kernel NBD: connections must be 1.." + std::to_string(kMaxKernelNbdConnections));
    if (c.block_size < 512 || c.block_size > 4096 || (c.block_size & (c.block_size - 1)) != 0)
        return make_error(EINVAL, "kernel NBD: block size must be a power of two from 512 to 4096");
    if (c.size_bytes == 0 || c.size_bytes % c.block_size != 0)
        return make_error(EINVAL, "kernel NBD: size must be a non-zero multiple of the block size");
    if (c.max_io_bytes != 0 && (c.max_io_bytes < 4096 || c.max_io_bytes < c.block_size))
        return make_error(EINVAL, "kernel NBD: max_io_bytes must be at least 4096 and one block");
    if (c.dead_conn_timeout.count() < 0) return make_error(EINVAL, "kernel NBD: negative dead_conn_timeout");
    return {};
}

KernelNbd::KernelNbd(Logger& log, nl_sock* sock, int family, int index, const KernelNbdConfig& config)
    : log_(log),
      sock_(sock),
      family_(family),
      index_(index),
      size_bytes_(config.size_bytes),
      block_size_(config.block_size),
      backend_identifier_(config.backend_identifier) {}

KernelNbd::~KernelNbd() {
    auto st = disconnect();
    if (!st) ISER_LOG_WARN(log_, "%s", st.error().message.c_str());
    nl_socket_free(sock_);
}

Result<std::unique_ptr<KernelNbd>> KernelNbd::connect(KernelNbdConfig config, ServeFn serve, Logger& log) {
    ISER_TRY(validate(config));
    auto opened = open_nbd_family();
    if (!opened) return opened.take_error();
    auto& [sock, family] = *opened;

    std::vector<UniqueFd> ours, kernel;
    std::vector<int> kernel_fds;
    for (std::uint32_t i = 0; i < config.connections; ++i) {
        auto pair = make_socket_pair();
        if (!pair) return pair.take_error();
        kernel_fds.push_back(pair->kernel.get());
        ours.push_back(std::move(pair->ours));
        kernel.push_back(std::move(pair->kernel));
    }
    auto msg = build_connect_message(family, config, kernel_fds);
    if (!msg) return msg.take_error();

    // Serve first: the device can see I/O (udev's probe) the moment the kernel says yes.
    ISER_TRY(serve(std::move(ours)));

    Exchange x;
    x.want_index = true;
    // On failure `kernel` closes on return, so the served connections see EOF and end.
    ISER_TRY(exchange(sock.get(), msg->get(), x, "CONNECT"));
    if (!x.index) return x.index.take_error();
    // The driver holds its own references to the sockets now.
    kernel.clear();

    std::unique_ptr<KernelNbd> nbd(new KernelNbd(log, sock.release(), family, *x.index, config));
    ISER_LOG_INFO(log, "nbd: %s connected (%llu bytes, %u-byte blocks, %u connection%s)", nbd->device_path().c_str(),
                  (unsigned long long)config.size_bytes, config.block_size, config.connections,
                  config.connections == 1 ? "" : "s");
    if (config.max_io_bytes) {
        auto st = limit_request_size(nbd->index_, config.max_io_bytes);
        if (!st) return st.take_error();  // the destructor disconnects
    }
    return nbd;
}

Status KernelNbd::resize(std::uint64_t size_bytes) {
    if (!connected_) return make_error(ENOTCONN, device_path() + " is disconnected");
    auto msg = build_resize_message(family_, index_, size_bytes, block_size_, backend_identifier_);
    if (!msg) return msg.take_error();
    Exchange x;
    auto st = exchange(sock_, msg->get(), x, "RECONFIGURE");
    if (!st) return make_error(st.error().code, device_path() + ": " + st.error().message);
    ISER_LOG_INFO(log_, "nbd: %s resized from %llu to %llu bytes", device_path().c_str(),
                  (unsigned long long)size_bytes_, (unsigned long long)size_bytes);
    size_bytes_ = size_bytes;
    return {};
}

Status KernelNbd::disconnect() {
    if (!connected_) return {};
    auto msg = build_disconnect_message(family_, index_);
    if (!msg) return msg.take_error();
    Exchange x;
    auto st = exchange(sock_, msg->get(), x, "DISCONNECT");
    if (!st) return make_error(st.error().code, device_path() + ": " + st.error().message);
    connected_ = false;
    ISER_LOG_INFO(log_, "nbd: %s disconnected", device_path().c_str());
    return {};
}

}  // namespace iser::nbd
