// A misbehaving iSCSI/TCP target on a real loopback socket, for the tests that hold the session
// and the real TcpDatamover against a hostile peer (issue #16). It listens on 127.0.0.1, accepts
// one connection on its own thread, answers the login like a plain target, then hands the
// connection to the test's script, which misbehaves with the Wire helpers below (blocking I/O).
//
// Unlike FakeTarget (in-process, through a FakeDatamover), everything here crosses a real TCP
// socket, so kernel buffers fill and the datamover's own queues are exercised.
#pragma once
#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/unique_fd.hpp"
#include "fake_target.hpp"
#include "initiator/pdu/pdu.hpp"

namespace fake {

struct WirePdu {
    iser::pdu::Bhs bhs;
    std::vector<std::uint8_t> data;
};

// The accepted connection, as the script sees it. Every call blocks; send/recv report a closed
// or failed connection by returning false / nullopt.
class Wire {
public:
    explicit Wire(int fd) : fd_(fd) {}
    bool send(const iser::pdu::Bhs& bhs, const std::vector<std::uint8_t>& data = {});
    // The next PDU, or nullopt on EOF, error, or when `timeout_ms` passes with nothing.
    std::optional<WirePdu> recv(int timeout_ms = 5000);
    // Target sequence numbers for the next answer: StatSN advances per status-bearing PDU.
    std::uint32_t statsn = 1000, expcmdsn = 0, maxcmdsn = 0;
    int fd() const { return fd_; }

private:
    bool read_exact(std::uint8_t* dst, std::size_t n, int timeout_ms);
    int fd_;
};

// Answers Login Requests on `wire` until the initiator is in the full feature phase (no
// authentication; operational keys as FakeTarget answers them with `options`). False, with
// `failure` set, when the login did not get there.
bool serve_login(Wire& wire, std::uint32_t window, std::string& failure, const TargetOptions& options = {});

class HostileTarget {
public:
    using Script = std::function<void(Wire&)>;
    // `window`: MaxCmdSN - ExpCmdSN + 1 announced at login (0: closed until the script opens it).
    // `recv_buffer`: SO_RCVBUF of the accepted socket (small: the initiator's sends back up soon).
    // `login_options`: the operational keys the login answers with (MaxRecvDataSegmentLength...).
    explicit HostileTarget(Script script, std::uint32_t window = 16, int recv_buffer = 0,
                           TargetOptions login_options = {});
    ~HostileTarget();  // joins the thread (the script must end: bound its loops)
    std::uint16_t port() const { return port_; }
    bool logged_in() const { return logged_in_; }
    bool finished() const { return finished_; }
    std::string failure() const;  // what went wrong in the login, if anything

private:
    void run();

    Script script_;
    std::uint32_t window_;
    int recv_buffer_;
    TargetOptions login_options_;
    iser::UniqueFd listener_;
    std::uint16_t port_ = 0;
    std::atomic<bool> logged_in_{false}, finished_{false};
    std::string failure_;  // written by the thread before finished_
    std::thread thread_;
};

}  // namespace fake
