// TcpDatamover lifetime: a connect failure is reported later through the loop; destroying the
// datamover before that (a session torn down at once) must not call into freed memory.
#include <doctest/doctest.h>

#include "initiator/datamover/tcp/tcp_datamover.hpp"
#include "test_support.hpp"

using namespace iser;

namespace {
struct CountingEvents : datamover::Events {
    int connected = 0, disconnected = 0;
    void on_connected() override { ++connected; }
    void on_pdu(const pdu::Bhs&, Bytes) override {}
    MutableBytes data_in_placement(const pdu::Bhs&) override { return {}; }
    void on_disconnected(const Error&) override { ++disconnected; }
};
}  // namespace

TEST_CASE("TcpDatamover destroyed before its deferred connect failure runs") {
    auto loop = std::move(EventLoop::create().value());
    Logger log(LogLevel::Error);
    CountingEvents ev;
    {
        datamover::TcpDatamover dm(*loop, log, ev);
        dm.connect("", 3260, std::chrono::milliseconds(500));  // fails in getaddrinfo: reported later
        dm.close();
    }
    fake::run_for(*loop, std::chrono::milliseconds(20));
    CHECK(ev.disconnected == 0);  // no callbacks after close()
    CHECK(ev.connected == 0);
}

TEST_CASE("TcpDatamover reports a refused connection once") {
    auto loop = std::move(EventLoop::create().value());
    Logger log(LogLevel::Error);
    CountingEvents ev;
    datamover::TcpDatamover dm(*loop, log, ev);
    dm.connect("127.0.0.1", 1, std::chrono::milliseconds(500));
    REQUIRE(fake::run_until(*loop, [&] { return ev.disconnected == 1; }));
    fake::run_for(*loop, std::chrono::milliseconds(20));
    CHECK(ev.disconnected == 1);
    CHECK(ev.connected == 0);
}
