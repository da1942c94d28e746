#include "hostile_target.hpp"

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "initiator/login/text.hpp"

namespace fake {
using namespace iser;

bool Wire::send(const pdu::Bhs& bhs, const std::vector<std::uint8_t>& data) {
    std::vector<std::uint8_t> out(bhs.bytes.begin(), bhs.bytes.end());
    out.insert(out.end(), data.begin(), data.end());
    out.resize(pdu::kBhsSize + pdu::pad4(std::uint32_t(data.size())), 0);
    for (std::size_t done = 0; done < out.size();) {
        ssize_t w = ::send(fd_, out.data() + done, out.size() - done, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return false;
        done += std::size_t(w);
    }
    return true;
}

bool Wire::read_exact(std::uint8_t* dst, std::size_t n, int timeout_ms) {
    for (std::size_t done = 0; done < n;) {
        pollfd p{fd_, POLLIN, 0};
        int rc = ::poll(&p, 1, timeout_ms);
        if (rc < 0 && errno == EINTR) continue;
        if (rc <= 0) return false;
        ssize_t r = ::recv(fd_, dst + done, n - done, 0);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return false;
        done += std::size_t(r);
    }
    return true;
}

std::optional<WirePdu> Wire::recv(int timeout_ms) {
    WirePdu p;
    if (!read_exact(p.bhs.bytes.data(), pdu::kBhsSize, timeout_ms)) return std::nullopt;
    auto framing = pdu::parse_framing(p.bhs, 1u << 24);
    if (!framing || framing->ahs_bytes) return std::nullopt;  // the initiator never sends AHS
    std::vector<std::uint8_t> padded(framing->padded_data_bytes);
    if (!padded.empty() && !read_exact(padded.data(), padded.size(), timeout_ms)) return std::nullopt;
    padded.resize(framing->data_bytes);
    p.data = std::move(padded);
    return p;
}

HostileTarget::HostileTarget(Script script, std::uint32_t window, int recv_buffer, TargetOptions login_options)
    : script_(std::move(script)), window_(window), recv_buffer_(recv_buffer), login_options_(std::move(login_options)) {
    listener_.reset(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    // Set before listen(): an accepted socket inherits it, and the window it advertises follows.
    if (recv_buffer_ > 0) setsockopt(listener_.get(), SOL_SOCKET, SO_RCVBUF, &recv_buffer_, sizeof recv_buffer_);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(listener_.get(), reinterpret_cast<sockaddr*>(&a), sizeof a);
    ::listen(listener_.get(), 1);
    socklen_t len = sizeof a;
    getsockname(listener_.get(), reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { run(); });
}

HostileTarget::~HostileTarget() {
    ::shutdown(listener_.get(), SHUT_RDWR);  // ends a pending accept()
    if (thread_.joinable()) thread_.join();
}

std::string HostileTarget::failure() const { return finished_ ? failure_ : std::string(); }

void HostileTarget::run() {
    pollfd p{listener_.get(), POLLIN, 0};
    if (::poll(&p, 1, 10000) == 1) {
        UniqueFd conn(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
        if (conn.valid()) {
            Wire wire(conn.get());
            if (serve_login(wire, window_, failure_, login_options_)) {
                logged_in_ = true;
                script_(wire);
            }
        } else {
            failure_ = "accept failed";
        }
    } else {
        failure_ = "no connection within 10 s";
    }
    finished_ = true;
}

// Answers Login Requests until the initiator is in the full feature phase: no authentication,
// the operational keys as FakeTarget answers them.
bool serve_login(Wire& wire, std::uint32_t window, std::string& failure_, const TargetOptions& options) {
    for (int round = 0; round < 4; ++round) {
        auto in = wire.recv();
        if (!in) return failure_ = "connection closed during login", false;
        auto req = pdu::decode_login_request(in->bhs);
        if (!req) return failure_ = "not a Login Request: " + req.error().message, false;
        auto keys = login::parse_text(Bytes(in->data));
        if (!keys) return failure_ = "bad login text", false;
        pdu::LoginResponse r;
        r.csg = req->csg;
        r.isid = req->isid;
        r.itt = req->itt;
        r.statsn = wire.statsn++;
        wire.expcmdsn = req->cmdsn;
        wire.maxcmdsn = req->cmdsn + window - 1;
        r.expcmdsn = wire.expcmdsn;
        r.maxcmdsn = wire.maxcmdsn;
        r.transit = req->transit;
        r.nsg = req->transit ? req->nsg : 0;
        login::KeyValues answer;
        if (req->csg == 0) answer = {{"AuthMethod", "None"}, {"TargetPortalGroupTag", "1"}};
        else answer = answer_operational_keys(*keys, options);
        if (r.transit && r.nsg == 3) r.tsih = 0x0200;
        std::vector<std::uint8_t> text;
        login::append_keys(text, answer);
        r.data_length = std::uint32_t(text.size());
        if (!wire.send(pdu::encode(r), text)) return failure_ = "send failed during login", false;
        if (r.transit && r.nsg == 3) return true;
    }
    failure_ = "login did not reach the full feature phase";
    return false;
}

}  // namespace fake
