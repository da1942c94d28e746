// Fuzzes the session layer (initiator/session/) with whatever a hostile target sends once logged
// in: the scripted FakeTarget (tests/unit/session/fake_target.*) logs a Session in through its
// FakeDatamover, receives two READs and two WRITEs (answering the writes' R2T exchange) and holds
// them; then the input is a sequence of target PDUs, each delivered to the session as
// TcpDatamover would deliver it. Finally the target drops the connection.
//
// Input: records of one flags byte, a 48-byte BHS and its data segment (as long as the BHS says,
// cut to what is left and at most 8 KiB; the BHS is made to agree). Flags:
//   bit 0     ITT := the ITT of the command bits 1-2 pick (so answers reach real tasks)
//   bit 3     StatSN, ExpCmdSN, MaxCmdSN := values the session expects (so they pass its checks)
//   bit 4     run the loop after this PDU (else PDUs pile up and arrive in one turn)
//   bit 5     the target answers one held command properly
//   bit 6     start a SendTargets text request (once)
// The first byte of the input picks target options (immediate data, InitialR2T, window).
//
// Checks: no crash or leak (ASan), every task completes exactly once by the end, and a READ
// never counts more bytes received than its buffer holds.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <vector>

#include "../unit/session/fake_target.hpp"
#include "common/event_loop.hpp"
#include "common/log.hpp"
#include "initiator/scsi/cdb.hpp"
#include "initiator/session/session.hpp"

using namespace iser;
using namespace std::chrono_literals;

namespace {

struct Completions final : session::TaskOwner {
    std::map<session::ScsiTask*, int> count;
    void task_done(session::ScsiTask& t) override {
        if (++count[&t] > 1) std::abort();  // completed twice
    }
};

void one_turn(EventLoop& loop) {
    loop.add_timer(0ms, [&loop] { loop.stop(); });
    loop.run();
}

session::SessionConfig config() {
    session::SessionConfig c;
    c.host = "fake-target";
    c.login.initiator_name = "iqn.2024-01.org.example:initiator";
    c.login.target_name = "iqn.2024-01.org.example:fake";
    c.login.isid = {0x80, 0, 0, 0, 0, 1};
    c.login.cmdsn = 77;
    c.login.offer.max_recv_data_segment_length = 16384;
    c.nop_interval = 0ms;          // no keepalive timers: the input decides what happens
    c.command_timeout = 0ms;       // no aborts on a timer either
    c.replacement_timeout = 0ms;   // a lost connection fails the tasks at once
    c.max_tasks = 16;
    c.io_memory_bytes = 4u << 20;
    return c;
}

constexpr std::size_t kMaxRecords = 64;
constexpr std::size_t kMaxData = 8192;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1) return 0;
    const std::uint8_t options = data[0];
    std::size_t pos = 1;

    std::unique_ptr<std::FILE, int (*)(std::FILE*)> quiet(std::fopen("/dev/null", "w"), std::fclose);
    if (!quiet) std::abort();
    auto loop = std::move(EventLoop::create().value());
    Logger log(LogLevel::Error, quiet.get());
    fake::TargetOptions o;
    o.hold_commands = true;
    o.immediate_data = options & 1;
    o.initial_r2t = options & 2;
    o.first_burst_length = 2048;
    o.max_recv_data_segment_length = 2048;  // the 6 KiB WRITE takes immediate data and R2Ts
    o.window = (options & 4) ? 2 : 64;
    fake::FakeTarget target(o);
    target.luns[0].blocks = 256;  // 128 KiB: the memory disk is made for every input
    Completions done;
    {
        session::Session session(*loop, log, config(), [&target](EventLoop& l, Logger&, datamover::Events& ev) {
            return std::make_unique<fake::FakeDatamover>(target, l, ev);
        });
        bool logged_in = false, login_ended = false;
        session.start([&](Status st) {
            login_ended = true;
            logged_in = st.ok();
        });
        for (int turn = 0; turn < 64 && !login_ended; ++turn) one_turn(*loop);
        if (!logged_in) std::abort();  // the fake target always lets it in

        auto memory = session.allocate_io_memory(16 * 1024);
        if (!memory) std::abort();
        session::ScsiTask tasks[4];
        const struct { bool write; std::uint32_t offset, bytes; } shapes[4] = {
            {false, 0, 4096}, {false, 4096, 1024}, {true, 8192, 6144}, {true, 14336, 1024}};
        for (int i = 0; i < 4; ++i) {
            session::ScsiTask& t = tasks[i];
            t.read = !shapes[i].write;
            t.write = shapes[i].write;
            t.cdb = t.write ? scsi::write16(std::uint64_t(i) * 64, shapes[i].bytes / 512)
                            : scsi::read16(std::uint64_t(i) * 64, shapes[i].bytes / 512);
            t.buffer = memory->base + shapes[i].offset;
            t.length = shapes[i].bytes;
            t.owner = &done;
            std::memset(t.buffer, 0xee, t.length);
            session.submit(t);
        }
        for (int turn = 0; turn < 16; ++turn) one_turn(*loop);

        std::uint32_t statsn = target.statsn_sent + 1;
        bool text_started = false;
        for (std::size_t records = 0; records < kMaxRecords && pos + 1 + pdu::kBhsSize <= size; ++records) {
            const std::uint8_t flags = data[pos++];
            pdu::Bhs bhs;
            std::memcpy(bhs.bytes.data(), data + pos, pdu::kBhsSize);
            pos += pdu::kBhsSize;
            const std::size_t n = std::min({std::size_t(bhs.data_segment_length()), size - pos, kMaxData});
            store_be24(&bhs.bytes[5], std::uint32_t(n));
            std::vector<std::uint8_t> segment(data + pos, data + pos + n);
            pos += n;
            if ((flags & 1) && !target.commands.empty()) {
                const auto& cmd = target.commands[((flags >> 1) & 3) % target.commands.size()].cmd;
                store_be32(&bhs.bytes[16], cmd.itt);
            }
            if ((flags & 8) && !target.commands.empty()) {
                const std::uint32_t expcmdsn = target.commands.back().cmd.cmdsn + 1;
                store_be32(&bhs.bytes[24], statsn++);
                store_be32(&bhs.bytes[28], expcmdsn);
                store_be32(&bhs.bytes[32], expcmdsn + o.window - 1);
            }
            if (target.connected()) target.inject(bhs, std::move(segment));
            if (flags & 32) target.release(1);
            if ((flags & 64) && !text_started) {
                text_started = true;
                session.text_request("SendTargets", "All", [](Result<std::vector<std::uint8_t>>) {});
            }
            if (flags & 16) one_turn(*loop);
        }
        for (int turn = 0; turn < 8; ++turn) one_turn(*loop);
        if (target.connected()) target.disconnect();
        for (int turn = 0; turn < 16; ++turn) one_turn(*loop);

        for (const session::ScsiTask& t : tasks) {
            auto it = done.count.find(const_cast<session::ScsiTask*>(&t));
            if (it == done.count.end()) std::abort();  // never completed, though the connection is gone
            if (t.read && t.transferred > t.length) std::abort();
        }
    }
    return 0;
}
