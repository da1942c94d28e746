// The session and the real TcpDatamover against a hostile target on a loopback socket
// (issue #16): a NOP-In flood from a target that stops reading, Text exchanges that never end,
// and R2Ts that ask twice for the same data. Each case failed before its fix: echoes carried
// other pings' (freed) bytes, a text request waited forever or was sent outside the CmdSN
// window, a repeated R2T got the data sent again.
// The cases for a tiny MaxRecvDataSegmentLength, huge SendTargets answers, unknown opcodes and
// a connection dropped mid-PDU pin behaviour that already held when they were written.
#include <doctest/doctest.h>

#include <chrono>
#include <mutex>
#include <thread>

#include <poll.h>
#include <sys/socket.h>

#include "hostile_target.hpp"
#include "initiator/datamover/tcp/tcp_datamover.hpp"
#include "test_support.hpp"

using namespace iser;
using namespace std::chrono_literals;

namespace {

// A Session over the real TcpDatamover to a HostileTarget, without keepalive or recovery.
struct TcpRig {
    std::unique_ptr<EventLoop> loop = std::move(EventLoop::create().value());
    Logger log;
    std::unique_ptr<session::Session> session;
    int failures = 0;
    Error last_failure;

    TcpRig(std::uint16_t port, std::function<void(session::SessionConfig&)> tweak = {}, std::FILE* log_out = stderr)
        : log(log_out == stderr ? LogLevel::Error : LogLevel::Info, log_out) {
        auto cfg = fake::session_config(false);
        cfg.host = "127.0.0.1";
        cfg.port = port;
        cfg.replacement_timeout = 0ms;
        cfg.logout_timeout = 200ms;
        cfg.login.offer.max_recv_data_segment_length = 65536;
        if (tweak) tweak(cfg);
        session = std::make_unique<session::Session>(*loop, log, cfg, [](EventLoop& l, Logger& lg, datamover::Events& ev) {
            return std::make_unique<datamover::TcpDatamover>(l, lg, ev);
        });
        session->on_failure([this](const Error& e) {
            ++failures;
            last_failure = e;
        });
    }
    Status login() {
        bool done = false;
        Status result = make_error(EINPROGRESS, "not finished");
        session->start([&](Status st) {
            done = true;
            result = std::move(st);
        });
        fake::run_until(*loop, [&] { return done; }, 5000ms);
        return result;
    }
    bool run_until(const std::function<bool()>& pred, std::chrono::milliseconds t) { return fake::run_until(*loop, pred, t); }
};

std::vector<std::uint8_t> ping_bytes(std::uint32_t i, std::size_t size) {
    std::vector<std::uint8_t> d(size);
    for (std::size_t j = 0; j < size; ++j) d[j] = std::uint8_t(i * 131 + j * 7 + (j >> 8));
    return d;
}

// What the flooding target saw come back.
struct EchoTally {
    std::mutex m;
    int sent = 0, answered = 0, wrong = 0;
};

// Sends `count` pings (TTT i+1, sizes cycling up to 64 KiB) without reading, then reads the answers.
fake::HostileTarget::Script nop_flood(EchoTally& tally, std::uint32_t count, std::size_t min_size, std::size_t max_size) {
    return [&tally, count, min_size, max_size](fake::Wire& wire) {
        std::vector<std::size_t> sizes;
        for (std::uint32_t i = 0; i < count; ++i) {
            std::size_t size = min_size + (std::size_t(i) * 7919) % (max_size - min_size + 1);
            pdu::NopIn in;
            in.ttt = i + 1;
            in.statsn = wire.statsn;
            in.expcmdsn = wire.expcmdsn;
            in.maxcmdsn = wire.maxcmdsn;
            in.data_length = std::uint32_t(size);
            if (!wire.send(pdu::encode(in), ping_bytes(i, size))) break;  // the initiator gave up on us
            sizes.push_back(size);
            std::lock_guard g(tally.m);
            ++tally.sent;
        }
        std::this_thread::sleep_for(200ms);  // let the initiator queue everything it will
        while (auto out = wire.recv(2000)) {
            auto nop = pdu::decode_nop_out(out->bhs);
            std::lock_guard g(tally.m);
            if (!nop || nop->ttt == 0 || nop->ttt > sizes.size()) {
                ++tally.wrong;
                continue;
            }
            ++tally.answered;
            if (out->data != ping_bytes(nop->ttt - 1, sizes[nop->ttt - 1])) ++tally.wrong;
        }
    };
}

}  // namespace

TEST_CASE("hostile target: a NOP-In flood while not reading gets each ping's own bytes back") {
    EchoTally tally;
    // 200 pings of 16-24 KiB: about 4 MB of answers. Loopback's socket buffers took 3-6 MB
    // here (the target's receive buffer is 4 KiB; the initiator's send buffer autotunes), so
    // usually tens of answers wait in the datamover's queue, and never more than its cap on
    // queued control data. (Before the fix this case returned other pings' bytes in most runs;
    // the next case, far beyond the buffers, in every run.)
    fake::HostileTarget target(nop_flood(tally, 200, 16384, 24576), 16, 4096);
    TcpRig rig(target.port());
    REQUIRE(rig.login().ok());
    REQUIRE(rig.run_until([&] { return target.finished(); }, 20000ms));
    CHECK(target.failure() == "");
    std::lock_guard g(tally.m);
    CHECK(tally.sent == 200);
    CHECK(tally.answered == 200);
    CHECK(tally.wrong == 0);
    // The target hung up when done; nothing before that may have failed the connection.
    CHECK(rig.last_failure.message.find("not reading") == std::string::npos);
}

TEST_CASE("hostile target: a NOP-In flood beyond the queue cap drops the connection, never sends wrong bytes") {
    EchoTally tally;
    // 400 pings of 32-64 KiB: about 19 MB of answers the target never reads in time.
    fake::HostileTarget target(nop_flood(tally, 400, 32768, 65536), 16, 4096);
    TcpRig rig(target.port());
    REQUIRE(rig.login().ok());
    REQUIRE(rig.run_until([&] { return target.finished(); }, 30000ms));
    CHECK(rig.failures == 1);
    CHECK(rig.last_failure.message.find("not reading") != std::string::npos);
    std::lock_guard g(tally.m);
    MESSAGE("answered ", tally.answered, " of ", tally.sent);
    CHECK(tally.answered < tally.sent);
    CHECK(tally.wrong == 0);
    // What got out is what fits in the cap plus the socket buffers, not all 19 MB.
    CHECK(std::size_t(tally.answered) * 32768 < datamover::kMaxQueuedControlBytes + (8u << 20));
}

namespace {
// Answers NOP-Out pings, ignores Text Requests (counts them), until the initiator closes.
fake::HostileTarget::Script never_answer_text(std::atomic<int>& text_requests) {
    return [&text_requests](fake::Wire& wire) {
        const auto end = std::chrono::steady_clock::now() + 10s;
        while (std::chrono::steady_clock::now() < end) {
            auto in = wire.recv(500);
            if (!in) {
                char c;
                if (::recv(wire.fd(), &c, 1, MSG_DONTWAIT | MSG_PEEK) == 0) return;  // closed
                continue;
            }
            if (in->bhs.opcode() == pdu::Opcode::TextRequest) ++text_requests;
            if (in->bhs.opcode() == pdu::Opcode::LogoutRequest) return;  // and never answer it
        }
    };
}

Result<std::vector<std::uint8_t>> run_text(TcpRig& rig, std::chrono::milliseconds limit, bool* done_out = nullptr) {
    bool done = false;
    Result<std::vector<std::uint8_t>> result = make_error(EINPROGRESS, "not finished");
    rig.session->text_request("SendTargets", "All", [&](Result<std::vector<std::uint8_t>> r) {
        done = true;
        result = std::move(r);
    });
    rig.run_until([&] { return done; }, limit);
    if (done_out) *done_out = done;
    return result;
}
}  // namespace

TEST_CASE("hostile target: a Text Request it never answers fails at the deadline") {
    std::atomic<int> text_requests{0};
    fake::HostileTarget target(never_answer_text(text_requests));
    TcpRig rig(target.port(), [](session::SessionConfig& c) { c.text_timeout = 300ms; });
    REQUIRE(rig.login().ok());
    const auto started = std::chrono::steady_clock::now();
    bool done = false;
    auto r = run_text(rig, 3000ms, &done);
    REQUIRE(done);
    CHECK(std::chrono::steady_clock::now() - started < 2000ms);
    REQUIRE(!r);
    CHECK(r.error().code == ETIMEDOUT);
    CHECK(text_requests == 1);
    // The logout that follows is bounded too, though this target never answers it.
    bool out = false;
    rig.session->logout([&](Status) { out = true; });
    CHECK(rig.run_until([&] { return out; }, 3000ms));
}

TEST_CASE("hostile target: empty F=0 Text Responses without end drop the connection at the cap") {
    std::atomic<int> requests{0};
    fake::HostileTarget target([&requests](fake::Wire& wire) {
        for (int i = 0; i < 2000; ++i) {
            auto in = wire.recv(2000);
            if (!in) return;
            auto req = pdu::decode_text_request(in->bhs);
            if (!req) continue;
            ++requests;
            wire.expcmdsn = req->cmdsn + 1;
            wire.maxcmdsn = wire.expcmdsn + 15;
            pdu::TextResponse r;
            r.final = false;
            r.itt = req->itt;
            r.ttt = 0x4000 + std::uint32_t(i);
            r.statsn = wire.statsn++;
            r.expcmdsn = wire.expcmdsn;
            r.maxcmdsn = wire.maxcmdsn;
            if (!wire.send(pdu::encode(r))) return;
        }
    });
    TcpRig rig(target.port());
    REQUIRE(rig.login().ok());
    auto r = run_text(rig, 10000ms);
    REQUIRE(!r);
    CHECK(r.error().message.find("not ended after") != std::string::npos);
    REQUIRE(rig.run_until([&] { return target.finished(); }, 5000ms));
    CHECK(requests == int(session::Session::kMaxTextResponses) + 1);  // the first, then the continuations
}

TEST_CASE("hostile target: a Text Request waits for the CmdSN window to open") {
    std::atomic<bool> early{false}, in_window{false};
    fake::HostileTarget target(
        [&](fake::Wire& wire) {
            // Login closed the window (MaxCmdSN = ExpCmdSN - 1): nothing may come for a while.
            if (auto in = wire.recv(400); in && in->bhs.opcode() == pdu::Opcode::TextRequest) early = true;
            pdu::NopIn open;  // unsolicited: only moves the window
            open.statsn = wire.statsn;
            open.expcmdsn = wire.expcmdsn;
            open.maxcmdsn = wire.maxcmdsn = wire.expcmdsn;
            if (!wire.send(pdu::encode(open))) return;
            auto in = wire.recv(2000);
            if (!in) return;
            auto req = pdu::decode_text_request(in->bhs);
            if (!req) return;
            in_window = sn_le(req->cmdsn, wire.maxcmdsn);
            const std::string answer = "TargetName=iqn.2024-01.org.example:t1";
            std::vector<std::uint8_t> data(answer.begin(), answer.end());
            data.push_back(0);
            pdu::TextResponse r;
            r.itt = req->itt;
            r.statsn = wire.statsn++;
            r.expcmdsn = req->cmdsn + 1;
            r.maxcmdsn = req->cmdsn + 16;
            r.data_length = std::uint32_t(data.size());
            (void)wire.send(pdu::encode(r), data);
            (void)wire.recv(2000);  // the logout, unanswered
        },
        /*window=*/0);
    TcpRig rig(target.port());
    REQUIRE(rig.login().ok());
    auto r = run_text(rig, 5000ms);
    REQUIRE(r);
    CHECK(std::string(r->begin(), r->end()).find("iqn.2024-01.org.example:t1") != std::string::npos);
    CHECK(!early);
    CHECK(in_window);
}

namespace {
// The next SCSI Command from the initiator (other PDUs before it are skipped), or nullopt.
std::optional<pdu::ScsiCommand> recv_command(fake::Wire& wire) {
    for (int i = 0; i < 10; ++i) {
        auto in = wire.recv(2000);
        if (!in) return std::nullopt;
        if (in->bhs.opcode() == pdu::Opcode::ScsiCommand) return pdu::decode_scsi_command(in->bhs).value();
    }
    return std::nullopt;
}

struct WriteTask final : session::TaskOwner {
    std::vector<std::uint8_t> data;
    session::ScsiTask task;
    bool done = false;
    explicit WriteTask(std::size_t bytes = 256 * 1024) : data(bytes, 0x5a) {
        task.cdb = scsi::write16(0, std::uint32_t(data.size() / 512), false);
        task.write = true;
        task.buffer = data.data();
        task.length = std::uint32_t(data.size());
        task.owner = this;
    }
    void task_done(session::ScsiTask&) override { done = true; }
};

struct R2TScript {
    std::atomic<std::uint32_t> first_bytes{0}, second_bytes{0};
    std::atomic<bool> dropped{false};
};

// Answers the WRITE's command with a good R2T (R2TSN 0 for 64 KiB after the immediate data),
// takes its Data-Out, then sends `second` and tallies whatever Data-Out answers it.
fake::HostileTarget::Script two_r2ts(R2TScript& tally, std::uint32_t second_r2tsn, std::uint32_t second_delta) {
    return [&tally, second_r2tsn, second_delta](fake::Wire& wire) {
        auto cmd = recv_command(wire);
        if (!cmd) return;
        wire.expcmdsn = cmd->cmdsn + 1;
        wire.maxcmdsn = wire.expcmdsn + 15;
        auto r2t = [&](std::uint32_t ttt, std::uint32_t r2tsn, std::uint32_t offset) {
            pdu::R2T r;
            r.itt = cmd->itt;
            r.ttt = ttt;
            r.statsn = wire.statsn;
            r.expcmdsn = wire.expcmdsn;
            r.maxcmdsn = wire.maxcmdsn;
            r.r2tsn = r2tsn;
            r.buffer_offset = offset;
            r.desired_length = 65536;
            return wire.send(pdu::encode(r));
        };
        const std::uint32_t first_offset = cmd->data_length;  // right after the immediate data
        if (!r2t(1, 0, first_offset)) return;
        if (!r2t(2, second_r2tsn, first_offset + second_delta)) return;
        while (auto in = wire.recv(1000)) {
            auto out = pdu::decode_data_out(in->bhs);
            if (!out) continue;
            (out->ttt == 1 ? tally.first_bytes : tally.second_bytes) += out->data_length;
        }
        tally.dropped = true;  // EOF (or silence): the initiator closed the connection
    };
}

// The second R2T carries `second_r2tsn` and starts `second_delta` bytes after the first.
void run_two_r2ts(std::uint32_t second_r2tsn, std::uint32_t second_delta, const char* expected) {
    R2TScript tally;
    fake::HostileTarget target(two_r2ts(tally, second_r2tsn, second_delta));
    TcpRig rig(target.port());
    REQUIRE(rig.login().ok());
    WriteTask w;
    rig.session->submit(w.task);
    REQUIRE(rig.run_until([&] { return w.done && rig.failures > 0; }, 5000ms));
    CHECK(w.task.error != 0);
    CHECK(rig.last_failure.message.find(expected) != std::string::npos);
    REQUIRE(rig.run_until([&] { return target.finished(); }, 5000ms));
    CHECK(tally.first_bytes == 65536u);  // the good R2T got its data
    CHECK(tally.second_bytes == 0u);     // the bad one got nothing
    CHECK(tally.dropped);
}
}  // namespace

TEST_CASE("hostile target: a duplicate R2T (same R2TSN) drops the connection and gets no data") {
    run_two_r2ts(0, 65536, "duplicate or out of order");
}

TEST_CASE("hostile target: an R2T that skips an R2TSN drops the connection") {
    run_two_r2ts(2, 65536, "duplicate or out of order");
}

TEST_CASE("hostile target: an R2T asking again for data already sent drops the connection") {
    run_two_r2ts(1, 0, "asks again for data");
}

namespace {
struct ReadTask final : session::TaskOwner {
    std::vector<std::uint8_t> data = std::vector<std::uint8_t>(16 * 1024, 0xee);  // stale bytes
    session::ScsiTask task;
    bool done = false;
    ReadTask() {
        task.cdb = scsi::read16(0, std::uint32_t(data.size() / 512));
        task.read = true;
        task.buffer = data.data();
        task.length = std::uint32_t(data.size());
        task.owner = this;
    }
    void task_done(session::ScsiTask&) override { done = true; }
};

// Answers the READ with two 8 KiB Data-In PDUs, the second with GOOD status: DataSNs and
// offsets as given.
fake::HostileTarget::Script two_data_ins(std::uint32_t second_datasn, std::uint32_t second_offset) {
    return [second_datasn, second_offset](fake::Wire& wire) {
        auto cmd = recv_command(wire);
        if (!cmd) return;
        wire.expcmdsn = cmd->cmdsn + 1;
        wire.maxcmdsn = wire.expcmdsn + 15;
        for (std::uint32_t k = 0; k < 2; ++k) {
            pdu::DataIn d;
            d.itt = cmd->itt;
            d.final = k == 1;
            d.has_status = k == 1;
            d.status = 0;
            if (k == 1) d.statsn = wire.statsn++;
            d.expcmdsn = wire.expcmdsn;
            d.maxcmdsn = wire.maxcmdsn;
            d.datasn = k == 0 ? 0 : second_datasn;
            d.buffer_offset = k == 0 ? 0 : second_offset;
            d.data_length = 8192;
            if (!wire.send(pdu::encode(d), std::vector<std::uint8_t>(8192, std::uint8_t(0x10 + k)))) return;
        }
        while (wire.recv(1000)) {
        }
    };
}

void run_two_data_ins(std::uint32_t second_datasn, std::uint32_t second_offset) {
    fake::HostileTarget target(two_data_ins(second_datasn, second_offset));
    TcpRig rig(target.port());
    REQUIRE(rig.login().ok());
    ReadTask r;
    rig.session->submit(r.task);
    REQUIRE(rig.run_until([&] { return r.done; }, 5000ms));
    // Never a good read with the stale bytes still in the buffer's second half.
    CHECK(r.task.error != 0);
    CHECK(rig.last_failure.message.find("out of order") != std::string::npos);
}
}  // namespace

TEST_CASE("hostile target: Data-In that overlaps (the same offset twice) never completes the read as good") {
    run_two_data_ins(1, 0);
}

TEST_CASE("hostile target: Data-In with a gap in its DataSNs drops the connection") {
    run_two_data_ins(2, 8192);
}

TEST_CASE("hostile target: an ExpCmdSN beyond the initiator's next CmdSN drops the connection") {
    fake::HostileTarget target([](fake::Wire& wire) {
        pdu::NopIn in;  // unsolicited: only moves the window, here past commands never sent
        in.statsn = wire.statsn;
        in.expcmdsn = wire.expcmdsn + 100;
        in.maxcmdsn = wire.expcmdsn + 164;
        if (!wire.send(pdu::encode(in))) return;
        while (wire.recv(1000)) {
        }
    });
    TcpRig rig(target.port());
    REQUIRE(rig.login().ok());
    REQUIRE(rig.run_until([&] { return rig.failures > 0; }, 5000ms));
    CHECK(rig.last_failure.message.find("beyond the next CmdSN") != std::string::npos);
}

TEST_CASE("hostile target: a flood of Rejects and Async Messages costs a few log lines, not one each") {
    fake::HostileTarget target([](fake::Wire& wire) {
        for (std::uint32_t i = 0; i < 300; ++i) {
            if (i % 2) {
                pdu::Reject r;
                r.reason = 0x09;  // invalid PDU field
                r.statsn = wire.statsn++;
                r.expcmdsn = wire.expcmdsn;
                r.maxcmdsn = wire.maxcmdsn;
                r.data_length = pdu::kBhsSize;
                std::vector<std::uint8_t> rejected(pdu::kBhsSize, 0);
                store_be32(rejected.data() + 16, 0x7000 + i);  // an ITT the initiator never used
                if (!wire.send(pdu::encode(r), rejected)) return;
            } else {
                pdu::AsyncMessage m;
                m.event = 0;  // SCSI asynchronous event
                m.statsn = wire.statsn++;
                m.expcmdsn = wire.expcmdsn;
                m.maxcmdsn = wire.maxcmdsn;
                if (!wire.send(pdu::encode(m))) return;
            }
        }
        while (wire.recv(500)) {
        }
    });
    std::FILE* log_file = std::tmpfile();
    REQUIRE(log_file);
    {
        TcpRig rig(target.port(), {}, log_file);
        REQUIRE(rig.login().ok());
        REQUIRE(rig.run_until([&] { return target.finished(); }, 10000ms));
        // None of it is a reason to drop the connection (the target closes it at the end).
        CHECK(rig.last_failure.message.find("protocol error") == std::string::npos);
    }
    std::rewind(log_file);
    int about_peer = 0, suppressed_notes = 0;
    char line[512];
    while (std::fgets(line, sizeof line, log_file)) {
        const std::string l = line;
        if (l.find("rejected a PDU") != std::string::npos || l.find("asynchronous event") != std::string::npos) ++about_peer;
        if (l.find("more such lines suppressed") != std::string::npos) ++suppressed_notes;
    }
    std::fclose(log_file);
    CHECK(about_peer <= 12);  // 10 a window of 10 s, the test ends well within two
    CHECK(about_peer >= 10);
    CHECK(suppressed_notes <= 1);
}

// ---- R2T floods (#16 medium 3): what a target can make the initiator queue with R2Ts.
// The one-byte flood failed before Data-Out PDUs were charged against the queue cap: every
// R2T was taken and its Data-Out queued, and the connection never dropped.

namespace {
// Answers the WRITE's command with `count` R2Ts of `each` bytes, in order (R2TSN 0, 1, ...), each
// right after the previous one, without reading anything the initiator sends. The R2Ts are
// legal one by one; together they ask for one Data-Out PDU per `each` bytes.
fake::HostileTarget::Script r2t_flood(std::uint32_t count, std::uint32_t each, std::atomic<std::uint32_t>& sent) {
    return [count, each, &sent](fake::Wire& wire) {
        auto cmd = recv_command(wire);
        if (!cmd) return;
        wire.expcmdsn = cmd->cmdsn + 1;
        wire.maxcmdsn = wire.expcmdsn + 15;
        std::uint32_t offset = cmd->data_length;  // after the immediate data
        for (std::uint32_t i = 0; i < count && offset + each <= cmd->expected_length; ++i, offset += each) {
            pdu::R2T r;
            r.itt = cmd->itt;
            r.ttt = 0x100 + i;
            r.statsn = wire.statsn;
            r.expcmdsn = wire.expcmdsn;
            r.maxcmdsn = wire.maxcmdsn;
            r.r2tsn = i;
            r.buffer_offset = offset;
            r.desired_length = each;
            if (!wire.send(pdu::encode(r))) return;  // the initiator closed the connection
            ++sent;
        }
        // Read nothing until the initiator gives up (or 10 s pass).
        pollfd p{wire.fd(), POLLRDHUP, 0};
        const auto end = std::chrono::steady_clock::now() + 10s;
        while (std::chrono::steady_clock::now() < end)
            if (::poll(&p, 1, 100) == 1 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR))) return;
    };
}
}  // namespace

TEST_CASE("hostile target: one-byte R2Ts for a whole WRITE, never read, drop the connection at the queue cap") {
    // Up to a million R2Ts of one byte each ask for as many Data-Out PDUs for one 1 MiB WRITE.
    // The target reads none of them: once the socket buffers are full (loopback took about
    // 120 000 of them here) they wait in the datamover's queue, each holding a queue entry of
    // its own though its data is the task's buffer; the cap takes 65 536 entries.
    std::atomic<std::uint32_t> sent{0};
    fake::HostileTarget target(r2t_flood(1000000, 1, sent), 16, 4096);
    TcpRig rig(target.port());
    REQUIRE(rig.login().ok());
    WriteTask w(1024 * 1024);
    rig.session->submit(w.task);
    REQUIRE(rig.run_until([&] { return w.done && rig.failures > 0; }, 30000ms));
    CHECK(w.task.error != 0);
    CHECK(rig.last_failure.message.find("not reading") != std::string::npos);
    MESSAGE("R2Ts sent before the drop: ", sent.load());
    REQUIRE(rig.run_until([&] { return target.finished(); }, 15000ms));
}

TEST_CASE("hostile target: a tiny MaxRecvDataSegmentLength splits an R2T into PDUs of that size, each byte sent once") {
    // The target declares MaxRecvDataSegmentLength=512 (the least RFC 7143 allows) and asks for
    // the whole rest of a 256 KiB WRITE with one R2T: 511 Data-Out PDUs, none larger than 512.
    struct Seen {
        std::atomic<std::uint32_t> pdus{0}, bytes{0}, too_big{0}, out_of_order{0};
    } seen;
    fake::TargetOptions keys;
    keys.max_recv_data_segment_length = 512;
    fake::HostileTarget target(
        [&seen](fake::Wire& wire) {
            auto cmd = recv_command(wire);
            if (!cmd) return;
            wire.expcmdsn = cmd->cmdsn + 1;
            wire.maxcmdsn = wire.expcmdsn + 15;
            pdu::R2T r;
            r.itt = cmd->itt;
            r.ttt = 0x42;
            r.statsn = wire.statsn;
            r.expcmdsn = wire.expcmdsn;
            r.maxcmdsn = wire.maxcmdsn;
            r.buffer_offset = cmd->data_length;
            r.desired_length = cmd->expected_length - cmd->data_length;
            if (!wire.send(pdu::encode(r))) return;
            std::uint32_t next_offset = r.buffer_offset, next_datasn = 0;
            while (next_offset < cmd->expected_length) {
                auto in = wire.recv(5000);
                if (!in) return;
                auto out = pdu::decode_data_out(in->bhs);
                if (!out) continue;
                ++seen.pdus;
                seen.bytes += out->data_length;
                if (out->data_length > 512) ++seen.too_big;
                if (out->buffer_offset != next_offset || out->datasn != next_datasn) ++seen.out_of_order;
                next_offset = out->buffer_offset + out->data_length;
                ++next_datasn;
            }
            pdu::ScsiResponse resp;
            resp.itt = cmd->itt;
            resp.statsn = wire.statsn++;
            resp.expcmdsn = wire.expcmdsn;
            resp.maxcmdsn = wire.maxcmdsn;
            (void)wire.send(pdu::encode(resp));
            while (wire.recv(1000)) {
            }
        },
        16, 0, keys);
    TcpRig rig(target.port());
    REQUIRE(rig.login().ok());
    WriteTask w;
    rig.session->submit(w.task);
    REQUIRE(rig.run_until([&] { return w.done; }, 10000ms));
    CHECK(w.task.error == 0);
    CHECK(w.task.status == 0);
    CHECK(rig.failures == 0);
    CHECK(seen.pdus == 511u);
    CHECK(seen.bytes == 256u * 1024 - 512);
    CHECK(seen.too_big == 0u);
    CHECK(seen.out_of_order == 0u);
}

// ---- Huge SendTargets answers (#16 medium 4): capped by the session (1 MiB per exchange) and
// refused by the parser (targets, portals, name length); the session itself carries on.

namespace {
// "TargetName=<name>\0" + `portals` x "TargetAddress=10.0.0.1:3260,1\0" for `targets` targets.
std::vector<std::uint8_t> send_targets_answer(std::size_t targets, std::size_t portals, std::size_t name_bytes) {
    std::string text;
    for (std::size_t t = 0; t < targets; ++t) {
        std::string name = "iqn.2024-01.org.example:t" + std::to_string(t) + "-";
        name.resize(std::max(name.size(), name_bytes), 'x');
        text += "TargetName=" + name;
        text += '\0';
        for (std::size_t p = 0; p < portals; ++p) {
            text += "TargetAddress=10.0." + std::to_string(p / 250) + "." + std::to_string(1 + p % 250) + ":3260,1";
            text += '\0';
        }
    }
    return std::vector<std::uint8_t>(text.begin(), text.end());
}

// Answers each Text Request with the next of `answers`, in F=0 pieces of 64 KiB (the
// initiator's MaxRecvDataSegmentLength here), each continuation when the initiator asks for it.
// Counts the requests.
fake::HostileTarget::Script answer_send_targets(std::vector<std::vector<std::uint8_t>> answers,
                                                std::atomic<int>& requests) {
    return [answers = std::move(answers), &requests](fake::Wire& wire) {
        std::size_t answer = 0, pos = 0;
        for (int i = 0; i < 400; ++i) {
            auto in = wire.recv(3000);
            if (!in) return;
            auto req = pdu::decode_text_request(in->bhs);
            if (!req) continue;
            ++requests;
            if (answer >= answers.size()) return;
            const auto& all = answers[answer];
            wire.expcmdsn = req->cmdsn + 1;
            wire.maxcmdsn = wire.expcmdsn + 15;
            const std::size_t n = std::min<std::size_t>(65536, all.size() - pos);
            pdu::TextResponse r;
            r.final = pos + n == all.size();
            r.itt = req->itt;
            r.ttt = r.final ? pdu::kReservedTag : 0x5000 + std::uint32_t(i);
            r.statsn = wire.statsn++;
            r.expcmdsn = wire.expcmdsn;
            r.maxcmdsn = wire.maxcmdsn;
            r.data_length = std::uint32_t(n);
            if (!wire.send(pdu::encode(r), std::vector<std::uint8_t>(all.begin() + long(pos), all.begin() + long(pos + n))))
                return;
            pos += n;
            if (r.final) ++answer, pos = 0;
        }
    };
}
}  // namespace

TEST_CASE("hostile target: a SendTargets answer beyond 1 MiB drops the connection with one error") {
    // 20 000 targets with long names and two portals each: about 5.6 MiB in 64 KiB pieces.
    std::atomic<int> requests{0};
    auto huge = send_targets_answer(20000, 2, 200);
    REQUIRE(huge.size() > (4u << 20));
    fake::HostileTarget target(answer_send_targets({huge}, requests));
    TcpRig rig(target.port());
    REQUIRE(rig.login().ok());
    auto r = run_text(rig, 10000ms);
    REQUIRE(!r);
    CHECK(r.error().message.find("larger than 1 MiB") != std::string::npos);
    CHECK(rig.failures == 1);
    CHECK(rig.last_failure.message.find("larger than 1 MiB") != std::string::npos);
    REQUIRE(rig.run_until([&] { return target.finished(); }, 5000ms));
    // The first request and its continuations up to the cap: 16 pieces of 64 KiB fill 1 MiB.
    CHECK(requests <= 17);
}

TEST_CASE("hostile target: SendTargets answers with too many targets, too many portals or overlong names are refused, the session stays") {
    std::atomic<int> requests{0};
    std::vector<std::vector<std::uint8_t>> answers = {
        send_targets_answer(login::kMaxSendTargets + 1, 1, 0),      // about 60 KiB, one target too many
        send_targets_answer(1, login::kMaxPortalsPerTarget + 1, 0),  // one portal too many
        send_targets_answer(1, 1, 224),                              // a name one byte over 223
        send_targets_answer(login::kMaxSendTargets, 2, 223),         // the most that is accepted: about 330 KiB
    };
    fake::HostileTarget target(answer_send_targets(answers, requests));
    TcpRig rig(target.port());
    REQUIRE(rig.login().ok());
    const char* expected[] = {"more than 1024 targets", "more than 64", "", nullptr};
    for (int i = 0; i < 4; ++i) {
        CAPTURE(i);
        auto r = run_text(rig, 5000ms);
        REQUIRE(r);  // the exchange itself is within the session's caps
        auto entries = login::parse_send_targets(Bytes(*r));
        if (expected[i]) {
            REQUIRE(!entries);
            CHECK(entries.error().code == EPROTO);
            CHECK(entries.error().message.find(expected[i]) != std::string::npos);
        } else {
            REQUIRE(entries);
            CHECK(entries->size() == login::kMaxSendTargets);
            CHECK(entries->back().target_name.size() == 223u);
            CHECK(entries->back().portals.size() == 2u);
        }
    }
    CHECK(rig.failures == 0);
    CHECK(rig.session->state() == session::Session::State::FullFeature);
}

// ---- Unknown opcodes (#16): documented behaviour is a protocol error that drops the
// connection; an outstanding command fails at once (not at a timeout) and never as good.

namespace {
// Receives the READ, then sends `bytes` (a PDU the initiator must not accept) and waits.
fake::HostileTarget::Script send_after_command(std::vector<std::uint8_t> bytes, bool close_after = false) {
    return [bytes = std::move(bytes), close_after](fake::Wire& wire) {
        auto cmd = recv_command(wire);
        if (!cmd) return;
        std::vector<std::uint8_t> out = bytes;
        if (out.size() >= pdu::kBhsSize) store_be32(out.data() + 16, cmd->itt);  // aimed at the READ
        for (std::size_t done = 0; done < out.size();) {
            ssize_t w = ::send(wire.fd(), out.data() + done, out.size() - done, MSG_NOSIGNAL);
            if (w <= 0) return;
            done += std::size_t(w);
        }
        if (close_after) {
            std::this_thread::sleep_for(50ms);  // the bytes arrive before the FIN, in separate reads
            ::shutdown(wire.fd(), SHUT_RDWR);
            return;
        }
        while (wire.recv(1000)) {
        }
    };
}

std::vector<std::uint8_t> pdu_bytes(const pdu::Bhs& bhs, std::size_t data_bytes = 0) {
    std::vector<std::uint8_t> v(bhs.bytes.begin(), bhs.bytes.end());
    for (std::size_t i = 0; i < pdu::pad4(std::uint32_t(data_bytes)); ++i) v.push_back(std::uint8_t(0x30 + i % 64));
    return v;
}

// A READ against `script`: it must fail (never good), with the connection dropped for `why`,
// well before any command timeout.
void read_fails_with(fake::HostileTarget::Script script, const char* why) {
    fake::HostileTarget target(std::move(script));
    TcpRig rig(target.port(), [](session::SessionConfig& c) { c.command_timeout = 30000ms; });
    REQUIRE(rig.login().ok());
    ReadTask r;
    rig.session->submit(r.task);
    const auto started = std::chrono::steady_clock::now();
    REQUIRE(rig.run_until([&] { return r.done && rig.failures > 0; }, 5000ms));
    CHECK(std::chrono::steady_clock::now() - started < 3000ms);
    CHECK(r.task.error != 0);
    CHECK(rig.failures == 1);
    CHECK(rig.last_failure.message.find(why) != std::string::npos);
    MESSAGE("failure: ", rig.last_failure.message);
}
}  // namespace

TEST_CASE("hostile target: an unknown opcode drops the connection and fails the outstanding READ at once") {
    pdu::Bhs bhs{};
    bhs.bytes[0] = 0x1c;  // reserved in RFC 7143
    bhs.bytes[1] = 0x80;
    read_fails_with(send_after_command(pdu_bytes(bhs)), "unknown opcode 0x1c");
}

TEST_CASE("hostile target: an initiator-only opcode (a SCSI Command) from the target drops the connection") {
    pdu::ScsiCommand c;
    c.cdb = scsi::read16(0, 1);
    c.expected_length = 512;
    c.read = true;
    read_fails_with(send_after_command(pdu_bytes(pdu::encode(c))), "unexpected SCSI Command");
}

// ---- A connection dropped in the middle of a PDU (#16): the session sees the loss, the READ
// fails and is never completed as good, whatever part of its data had arrived.

TEST_CASE("hostile target: a connection dropped after half a BHS fails the outstanding READ") {
    pdu::DataIn d;
    d.final = true;
    d.has_status = true;
    d.data_length = 16384;
    auto bytes = pdu_bytes(pdu::encode(d));
    bytes.resize(pdu::kBhsSize / 2);
    read_fails_with(send_after_command(bytes, /*close_after=*/true), "closed the connection");
}

TEST_CASE("hostile target: a connection dropped in the middle of a Data-In's data fails the outstanding READ") {
    pdu::DataIn d;
    d.final = true;
    d.has_status = true;  // the status would come with this PDU, had it ended
    d.data_length = 16384;
    auto bytes = pdu_bytes(pdu::encode(d), 16384);
    bytes.resize(pdu::kBhsSize + 8192);  // header and half the data segment
    read_fails_with(send_after_command(bytes, /*close_after=*/true), "closed the connection");
}
