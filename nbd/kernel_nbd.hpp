// The kernel NBD fallback frontend: a /dev/nbdN whose requests are served by our NbdServer over
// socketpairs handed to the kernel driver through generic netlink (family "nbd"). Used when
// ublk is not available (`iserctl login --frontend nbd`).
//
// The kernel driver never handshakes on sockets given over netlink: the server side of each
// socketpair must start in the transmission phase (NbdServer::serve_connected(fd, true)).
//
// Threads: connect(), disconnect() and the destructor are CONTROL-thread calls. They block in
// netlink round trips, and the kernel's DISCONNECT writes NBD_CMD_DISC into sockets our
// NbdServer must keep reading: calling them on the loop thread that serves the sockets can
// deadlock. The `serve` callback runs inside connect() on the calling (control) thread; it
// must hand the fds to NbdServer::serve_connected(fd, true) on the loop thread (post + wait).
//
// Order: connect() creates the socketpairs, calls `serve` with our ends FIRST (so requests
// queued by the kernel are read as soon as the device exists), then NBD_CMD_CONNECT with the
// kernel's ends. If the kernel refuses, the kernel ends are closed and the served connections
// see end-of-file and close by themselves. To stop: disconnect() (the kernel sends DISC and
// shuts the sockets down; the connections close), then NbdServer::close() on the loop thread.
#pragma once
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/log.hpp"
#include "common/result.hpp"
#include "common/unique_fd.hpp"

struct nl_sock;

namespace iser::nbd {

struct KernelNbdConfig {
    std::uint32_t connections = 1;  // sockets (kernel hardware queues); 1..kMaxKernelNbdConnections
    int index = -1;                 // -1: any free /dev/nbdN
    std::uint64_t size_bytes = 0;   // multiple of block_size
    std::uint32_t block_size = 512;  // logical = physical block size; power of two 512..4096
    std::uint64_t server_flags = 0;  // NBD transmission flags (ExportInfo::transmission_flags)
    // Seconds the kernel waits for a dead socket to be replaced (NBD_CMD_RECONFIGURE) before it
    // fails I/O; 0 = not sent (fail at once).
    std::chrono::seconds dead_conn_timeout{0};
    // Largest READ/WRITE the server accepts (ExportInfo::block_sizes.maximum). The netlink API
    // cannot carry it, so connect() writes it to /sys/block/nbdN/queue/max_sectors_kb;
    // 0 = leave the kernel's default (which may exceed what the server accepts).
    std::uint32_t max_io_bytes = 0;
    // Shown in /sys/block/nbdN/backend (NBD_ATTR_BACKEND_IDENTIFIER); empty = not sent.
    std::string backend_identifier;
};

inline constexpr std::uint32_t kMaxKernelNbdConnections = 64;

// Checks the config against what the kernel accepts (before any socket is made).
Status validate(const KernelNbdConfig& config);

class KernelNbd {
public:
    using ServeFn = std::function<Status(std::vector<UniqueFd>)>;

    // Control thread. See the top of this file for the order and the error behaviour. Fails
    // with ENODEV and "kernel NBD is not available: the nbd module is not loaded (modprobe nbd)"
    // when the generic netlink family "nbd" cannot be resolved.
    static Result<std::unique_ptr<KernelNbd>> connect(KernelNbdConfig config, ServeFn serve, Logger& log);

    // Disconnects (best effort) if disconnect() was not called. Control thread.
    ~KernelNbd();
    KernelNbd(const KernelNbd&) = delete;
    KernelNbd& operator=(const KernelNbd&) = delete;

    int index() const { return index_; }
    std::string device_path() const { return "/dev/nbd" + std::to_string(index_); }
    bool connected() const { return connected_; }

    // NBD_CMD_RECONFIGURE with a new size: the disk grows or shrinks while I/O goes on (the
    // server must already accept the new size). Control thread.
    Status resize(std::uint64_t size_bytes);
    std::uint64_t size_bytes() const { return size_bytes_; }

    // NBD_CMD_DISCONNECT for index(); idempotent. Control thread. Requests still queued in the
    // kernel fail with EIO: unmount / stop I/O first.
    Status disconnect();

private:
    KernelNbd(Logger& log, nl_sock* sock, int family, int index, const KernelNbdConfig& config);

    Logger& log_;
    nl_sock* sock_;  // owned; kept for disconnect()
    int family_;
    int index_;
    std::uint64_t size_bytes_;
    std::uint32_t block_size_;
    std::string backend_identifier_;  // RECONFIGURE must repeat it
    bool connected_ = true;
};

}  // namespace iser::nbd
