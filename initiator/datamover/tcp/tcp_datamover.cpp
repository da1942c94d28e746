#include "initiator/datamover/tcp/tcp_datamover.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <cstring>

namespace iser::datamover {
namespace {
constexpr std::size_t kRecvBuffer = 256 * 1024;
constexpr std::size_t kDirectRecvThreshold = 2048;  // payload bigger than this skips rx_
constexpr std::uint32_t kLoginMaxData = 65536;      // generous bound during login/discovery
constexpr int kMaxIov = 64;

std::string errno_text(int e) { return std::strerror(e); }
}  // namespace

TcpDatamover::TcpDatamover(EventLoop& loop, Logger& log, Events& events)
    : loop_(loop), log_(log), events_(events), rx_(kRecvBuffer) {
    receiver_.set_data_limit(kLoginMaxData);
}

TcpDatamover::~TcpDatamover() {
    *alive_ = false;
    close();
}

// Failures found inside connect() are reported from the loop, never from inside the call;
// the datamover may be destroyed before then (a session torn down at once).
void TcpDatamover::fail_later(Error why) {
    loop_.defer([this, why = std::move(why), alive = alive_] {
        if (*alive) fail(why);
    });
}

void TcpDatamover::connect(const std::string& host, std::uint16_t port, std::chrono::milliseconds timeout) {
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    addrinfo* res = nullptr;
    std::string service = std::to_string(port);
    int rc = getaddrinfo(host.c_str(), service.c_str(), &hints, &res);
    if (rc != 0) {
        fail_later(make_error(EHOSTUNREACH, "cannot resolve " + host + ": " + gai_strerror(rc)));
        return;
    }
    std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> guard(res, freeaddrinfo);
    fd_.reset(::socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd_.valid()) {
        int e = errno;
        fail_later(make_error(e, "socket: " + errno_text(e)));
        return;
    }
    int one = 1;
    setsockopt(fd_.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (::connect(fd_.get(), res->ai_addr, res->ai_addrlen) != 0 && errno != EINPROGRESS) {
        int e = errno;
        fail_later(make_error(e, errno_text(e)));
        return;
    }
    auto st = loop_.add_fd(fd_.get(), EPOLLOUT, [this](std::uint32_t ev) { on_connect_ready(ev); });
    if (!st) {
        fail_later(st.take_error());
        return;
    }
    connect_timer_ = loop_.add_timer(timeout, [this] {
        connect_timer_ = 0;
        fail(make_error(ETIMEDOUT, "connection timed out"));
    });
}

void TcpDatamover::on_connect_ready(std::uint32_t) {
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(fd_.get(), SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) {
        fail(make_error(err, errno_text(err)));
        return;
    }
    if (connect_timer_) loop_.cancel_timer(std::exchange(connect_timer_, 0));
    loop_.remove_fd(fd_.get());
    auto st = loop_.add_fd(fd_.get(), EPOLLIN | EPOLLRDHUP, [this](std::uint32_t ev) { on_socket(ev); });
    if (!st) {
        fail(st.take_error());
        return;
    }
    connected_ = true;
    events_.on_connected();
}

Status TcpDatamover::send_pdu(const pdu::Bhs& bhs, Bytes data) { return queue_pdu(bhs, data, true); }

Status TcpDatamover::send_data_out(const pdu::Bhs& bhs, Bytes data) { return queue_pdu(bhs, data, false); }

// Control data is copied into the queue entry (std::deque keeps entries in place, so the span
// into it stays valid); a Data-Out's data is the task's buffer, which outlives the send.
// Every entry is charged kQueuedPduOverhead, a Data-Out's too: its data is bounded by the I/O
// memory, but a target that asks for a WRITE in one-byte R2Ts gets one entry per byte, and an
// uncharged entry (about 130 bytes) would let it grow our memory to a hundred times the size of
// the WRITEs in flight while it reads nothing.
Status TcpDatamover::queue_pdu(const pdu::Bhs& bhs, Bytes data, bool copy) {
    if (failed_ || !connected_) return make_error(ENOTCONN, "not connected");
    if (data.size() > params_.max_send_data_segment && data.size() > kLoginMaxData)
        return make_error(EMSGSIZE, "data segment larger than the target accepts");
    const std::size_t charge = kQueuedPduOverhead + (copy ? data.size() : 0);
    if (queued_control_bytes_ + charge > kMaxQueuedControlBytes) {
        fail(make_error(ENOBUFS, "target is not reading: " + std::to_string(queued_control_bytes_) +
                                     " bytes of PDUs already queued (control data and per-PDU overhead)"));
        return make_error(ECONNRESET, "connection lost");
    }
    OutPdu& out = send_queue_.emplace_back();
    std::memcpy(out.header, bhs.bytes.data(), pdu::kBhsSize);
    out.header_len = pdu::kBhsSize;
    if (copy) {
        out.owned.assign(data.begin(), data.end());
        out.data = Bytes(out.owned);
    } else {
        out.data = data;
    }
    out.charged = charge;
    queued_control_bytes_ += charge;
    out.trailer_len = pdu::pad4(std::uint32_t(data.size())) - std::uint32_t(data.size());
    std::memset(out.trailer, 0, sizeof out.trailer);
    flush_send_queue();
    return failed_ ? Status(make_error(ECONNRESET, "connection lost")) : Status{};
}

Status TcpDatamover::send_command(const pdu::Bhs& bhs, const CommandPayload& payload) {
    return send_pdu(bhs, Bytes(payload.buffer, payload.write ? payload.immediate_bytes : 0));
}

Status TcpDatamover::enter_full_feature(const FeatureParams& params) {
    if (params.header_digest || params.data_digest)
        return make_error(ENOTSUP, "iSCSI digests are not supported by this initiator yet");
    params_ = params;
    receiver_.set_data_limit(std::max(params_.max_recv_data_segment, kLoginMaxData));
    return {};
}

Status TcpDatamover::add_io_memory(const IoMemory&) {
    return {};  // the socket reads and writes any memory: nothing to register
}

void TcpDatamover::flush_send_queue() {
    while (!send_queue_.empty() && !failed_) {
        iovec iov[kMaxIov];
        int n = 0;
        for (auto it = send_queue_.begin(); it != send_queue_.end() && n + 3 <= kMaxIov; ++it) {
            std::size_t skip = it->sent;
            auto add = [&](const void* base, std::size_t len) {
                if (skip >= len) { skip -= len; return; }
                iov[n].iov_base = const_cast<std::uint8_t*>(static_cast<const std::uint8_t*>(base) + skip);
                iov[n].iov_len = len - skip;
                skip = 0;
                ++n;
            };
            add(it->header, it->header_len);
            if (!it->data.empty()) add(it->data.data(), it->data.size());
            if (it->trailer_len) add(it->trailer, it->trailer_len);
        }
        ssize_t w = ::writev(fd_.get(), iov, n);
        if (w < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) break;
            if (errno == EINTR) continue;
            fail(make_error(errno, "send: " + errno_text(errno)));
            return;
        }
        std::size_t left = std::size_t(w);
        while (left > 0 && !send_queue_.empty()) {
            OutPdu& front = send_queue_.front();
            std::size_t rest = front.total() - front.sent;
            if (left >= rest) {
                left -= rest;
                queued_control_bytes_ -= front.charged;
                send_queue_.pop_front();
            } else {
                front.sent += left;
                left = 0;
            }
        }
    }
    update_interest();
}

void TcpDatamover::update_interest() {
    if (failed_ || !connected_) return;
    bool want = !send_queue_.empty();
    if (want == want_write_) return;
    want_write_ = want;
    (void)loop_.modify_fd(fd_.get(), EPOLLIN | EPOLLRDHUP | (want ? EPOLLOUT : 0u));
}

void TcpDatamover::on_socket(std::uint32_t events) {
    if (events & EPOLLOUT) flush_send_queue();
    if (failed_) return;
    if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) receive();
}

void TcpDatamover::receive() {
    // Bounded per wake-up so one busy connection cannot starve the loop's other work.
    for (int rounds = 0; rounds < 64 && !failed_; ++rounds) {
        if (MutableBytes direct = receiver_.direct_space(kDirectRecvThreshold); !direct.empty()) {
            ssize_t r = ::recv(fd_.get(), direct.data(), direct.size(), 0);
            if (r > 0) {
                if (!receiver_.direct_received(std::size_t(r))) return;
                continue;
            }
            if (r == 0) return fail(make_error(ECONNRESET, "target closed the connection"));
            if (errno == EAGAIN || errno == EWOULDBLOCK) return;
            if (errno == EINTR) continue;
            return fail(make_error(errno, "recv: " + errno_text(errno)));
        }
        ssize_t r = ::recv(fd_.get(), rx_.data(), rx_.size(), 0);
        if (r == 0) return fail(make_error(ECONNRESET, "target closed the connection"));
        if (r < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) return;
            if (errno == EINTR) continue;
            return fail(make_error(errno, "recv: " + errno_text(errno)));
        }
        std::size_t pos = 0;
        while (pos < std::size_t(r) && !failed_) {
            std::size_t used = 0;
            if (!receiver_.consume(rx_.data() + pos, std::size_t(r) - pos, used)) return;
            pos += used;
        }
    }
}

bool TcpDatamover::deliver(const pdu::Bhs& bhs, Bytes data) {
    events_.on_pdu(bhs, data);
    return !failed_;
}

void TcpDatamover::fail(Error why) {
    if (failed_) return;
    failed_ = true;
    ISER_LOG_DEBUG(log_, "tcp: connection failed: %s", why.message.c_str());
    if (connect_timer_) loop_.cancel_timer(std::exchange(connect_timer_, 0));
    if (fd_.valid()) loop_.remove_fd(fd_.get());
    fd_.reset();
    send_queue_.clear();
    queued_control_bytes_ = 0;
    events_.on_disconnected(why);
}

void TcpDatamover::close() {
    if (connect_timer_) loop_.cancel_timer(std::exchange(connect_timer_, 0));
    if (fd_.valid()) {
        loop_.remove_fd(fd_.get());
        ::shutdown(fd_.get(), SHUT_RDWR);
        fd_.reset();
    }
    failed_ = true;  // no callbacks after close()
    send_queue_.clear();
    queued_control_bytes_ = 0;
}

}  // namespace iser::datamover
