// hostile_target: a misbehaving iSCSI/TCP target on 127.0.0.1 for the host tests that hold the
// real iserd against it (tests/host/hostile_target.sh). Serves every connection it accepts, each
// on its own thread, with one behaviour:
//   never-answer-login  reads the Login Request and never answers (a login that hangs)
//   never-answer-text   logs in, answers NOP-Out pings, never answers a Text Request (a
//                       SendTargets that hangs), nor the Logout
// Usage: hostile_target --mode MODE --port-file FILE [--seconds N]
// Writes the port it listens on to FILE, exits after N seconds (default 120).
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>

#include "hostile_target.hpp"

using namespace iser;

namespace {

void never_answer_login(fake::Wire& wire, std::chrono::steady_clock::time_point end) {
    (void)wire.recv();  // the Login Request
    while (std::chrono::steady_clock::now() < end) {
        char c;
        if (::recv(wire.fd(), &c, 1, MSG_DONTWAIT | MSG_PEEK) == 0) return;  // the initiator gave up
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
}

void never_answer_text(fake::Wire& wire, std::chrono::steady_clock::time_point end) {
    std::string failure;
    if (!fake::serve_login(wire, 16, failure)) {
        std::fprintf(stderr, "hostile_target: %s\n", failure.c_str());
        return;
    }
    while (std::chrono::steady_clock::now() < end) {
        auto in = wire.recv(200);
        if (!in) {
            char c;
            if (::recv(wire.fd(), &c, 1, MSG_DONTWAIT | MSG_PEEK) == 0) return;
            continue;
        }
        auto nop = pdu::decode_nop_out(in->bhs);
        if (!nop || nop->itt == pdu::kReservedTag) continue;  // Text, Logout, ...: no answer
        pdu::NopIn answer;
        answer.itt = nop->itt;
        answer.statsn = wire.statsn++;
        answer.expcmdsn = wire.expcmdsn;
        answer.maxcmdsn = wire.maxcmdsn;
        answer.data_length = std::uint32_t(in->data.size());
        if (!wire.send(pdu::encode(answer), in->data)) return;
    }
}

}  // namespace

int main(int argc, char** argv) {
    std::string mode, port_file;
    int seconds = 120;
    for (int i = 1; i + 1 < argc; i += 2) {
        std::string a = argv[i];
        if (a == "--mode") mode = argv[i + 1];
        else if (a == "--port-file") port_file = argv[i + 1];
        else if (a == "--seconds") seconds = std::atoi(argv[i + 1]);
    }
    if ((mode != "never-answer-login" && mode != "never-answer-text") || port_file.empty() || seconds <= 0) {
        std::fprintf(stderr, "usage: hostile_target --mode never-answer-login|never-answer-text --port-file FILE [--seconds N]\n");
        return 2;
    }
    UniqueFd listener(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    int one = 1;
    setsockopt(listener.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (::bind(listener.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(listener.get(), 16) != 0 ||
        getsockname(listener.get(), reinterpret_cast<sockaddr*>(&a), &len) != 0) {
        std::perror("hostile_target: listen");
        return 1;
    }
    std::ofstream(port_file) << ntohs(a.sin_port) << "\n";
    const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
    timeval tick{0, 200000};
    setsockopt(listener.get(), SOL_SOCKET, SO_RCVTIMEO, &tick, sizeof tick);  // accept() wakes to check the time
    while (std::chrono::steady_clock::now() < end) {
        int fd = ::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC);
        if (fd < 0) continue;
        std::thread([fd, mode, end] {
            UniqueFd conn(fd);
            fake::Wire wire(conn.get());
            if (mode == "never-answer-login") never_answer_login(wire, end);
            else never_answer_text(wire, end);
        }).detach();
    }
    return 0;
}
