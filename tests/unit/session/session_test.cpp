// The session layer over the scripted fake target: login, sequence numbers, the CmdSN window,
// write and read data paths on both transports, status and sense, NOP, Reject, failures, logout.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstring>
#include <numeric>

#include "initiator/scsi/cdb.hpp"
#include "test_support.hpp"

using namespace iser;
using namespace fake;
using session::ScsiTask;
using session::Session;

namespace {

std::uint8_t* io_buffer(Rig& rig, std::size_t bytes) {
    auto mem = rig.session->allocate_io_memory(bytes);
    REQUIRE(mem.ok());
    return mem->base;
}

void make_read(ScsiTask& t, Recorder& owner, std::uint8_t* buf, std::uint64_t lba, std::uint32_t bytes) {
    t.cdb = scsi::read16(lba, bytes / 512);
    t.read = true;
    t.write = false;
    t.buffer = buf;
    t.length = bytes;
    t.owner = &owner;
}

void make_write(ScsiTask& t, Recorder& owner, std::uint8_t* buf, std::uint64_t lba, std::uint32_t bytes) {
    t.cdb = scsi::write16(lba, bytes / 512);
    t.read = false;
    t.write = true;
    t.buffer = buf;
    t.length = bytes;
    t.owner = &owner;
}

void make_tur(ScsiTask& t, Recorder& owner) {
    t.cdb = scsi::test_unit_ready();
    t.read = t.write = false;
    t.buffer = nullptr;
    t.length = 0;
    t.owner = &owner;
}

void fill_pattern(std::uint8_t* p, std::size_t n, std::uint8_t seed) {
    for (std::size_t i = 0; i < n; ++i) p[i] = std::uint8_t(seed + i * 7 + (i >> 9));
}

// Writes `bytes` at LBA 8 and returns the task after completion.
void write_and_check(Rig& rig, std::uint32_t bytes) {
    Recorder rec;
    ScsiTask t;
    std::uint8_t* buf = io_buffer(rig, bytes);
    fill_pattern(buf, bytes, 0x31);
    make_write(t, rec, buf, 8, bytes);
    rig.session->submit(t);
    REQUIRE(rig.run_until([&] { return rec.done.size() == 1; }));
    CHECK(t.error == 0);
    CHECK(t.status == 0);
    const auto& disk = rig.target.lun(0).data;
    CHECK(std::memcmp(disk.data() + 8 * 512, buf, bytes) == 0);
}

std::uint32_t data_out_bytes(const FakeTarget& t, std::uint32_t ttt) {
    std::uint32_t n = 0;
    for (const auto& d : t.data_outs)
        if (d.pdu.ttt == ttt) n += d.pdu.data_length;
    return n;
}

}  // namespace

TEST_CASE("login reaches the full feature phase with the target's answers") {
    TargetOptions o;
    o.initial_r2t = false;
    o.first_burst_length = 32768;
    o.max_recv_data_segment_length = 4096;
    Rig rig(o);
    CHECK(rig.session->state() == Session::State::Idle);
    auto st = rig.login();
    REQUIRE(st.ok());
    CHECK(rig.session->state() == Session::State::FullFeature);
    CHECK(std::string(rig.session->transport_name()) == "fake-tcp");
    REQUIRE(rig.target.login_requests.size() == 2);
    CHECK(rig.target.login_requests[0].csg == 0);
    CHECK(rig.target.login_requests[1].csg == 1);
    CHECK(rig.target.login_requests[1].nsg == 3);
    CHECK(rig.target.login_requests[1].cmdsn == 77);
    CHECK(rig.target.login_requests[1].expstatsn == 1001);  // first login response had StatSN 1000
    const auto& p = rig.session->params();
    CHECK(p.tsih == 0x0102);
    CHECK_FALSE(p.initial_r2t);
    CHECK(p.immediate_data);
    CHECK(p.first_burst_length == 32768);
    CHECK(p.max_xmit_data_segment_length == 4096);
    CHECK(p.statsn == 1001);
    CHECK(rig.target.violations.empty());
}

TEST_CASE("login failure status ends start() with the reason and no failure callback") {
    TargetOptions o;
    o.login_failure = std::make_pair(std::uint8_t(2), std::uint8_t(3));  // target not found
    Rig rig(o);
    auto st = rig.login();
    REQUIRE_FALSE(st.ok());
    CHECK(st.error().code == ENOENT);
    CHECK(st.error().message.find("target not found") != std::string::npos);
    CHECK(rig.session->state() == Session::State::Failed);
    CHECK(rig.failures == 0);
    CHECK(rig.target.closes >= 1);
}

TEST_CASE("connection refused ends start() naming the portal") {
    TargetOptions o;
    o.connect_fails = true;
    Rig rig(o);
    auto st = rig.login();
    REQUIRE_FALSE(st.ok());
    CHECK(st.error().code == ECONNREFUSED);
    CHECK(st.error().message.find("fake-target:3260") != std::string::npos);
    CHECK(rig.failures == 0);
}

TEST_CASE("commands carry consecutive CmdSN and ExpStatSN follows StatSN") {
    Rig rig;
    REQUIRE(rig.login().ok());
    Recorder rec;
    std::uint8_t* buf = io_buffer(rig, 4096);
    ScsiTask t;
    // One at a time: each command acknowledges the status of the previous one.
    for (int i = 0; i < 4; ++i) {
        // The last StatSN the initiator saw: the final login response's, then each status's.
        const std::uint32_t last_statsn = i == 0 ? 1001u : rig.target.statsn_sent;
        make_read(t, rec, buf, std::uint64_t(i), 512);
        rig.session->submit(t);
        REQUIRE(rig.run_until([&] { return rec.done.size() == std::size_t(i + 1); }));
        CHECK(t.error == 0);
        const auto& cmd = rig.target.commands.back().cmd;
        CHECK(cmd.cmdsn == 77u + std::uint32_t(i));
        CHECK(cmd.expstatsn == last_statsn + 1);
        CHECK(rig.target.statsn_sent == 1002u + std::uint32_t(i));
    }
    // Several at once: still consecutive, distinct ITTs.
    ScsiTask many[6];
    for (auto& m : many) {
        make_read(m, rec, buf, 0, 512);
        rig.session->submit(m);
    }
    REQUIRE(rig.run_until([&] { return rec.done.size() == 10; }));
    for (std::size_t i = 0; i < 10; ++i) CHECK(rig.target.commands[i].cmd.cmdsn == 77u + i);
    std::vector<std::uint32_t> itts;
    for (std::size_t i = 4; i < 10; ++i) itts.push_back(rig.target.commands[i].cmd.itt);
    std::sort(itts.begin(), itts.end());
    CHECK(std::adjacent_find(itts.begin(), itts.end()) == itts.end());
    // Each answered command was ended at the datamover (iSER invalidates its key there), once.
    std::vector<std::uint32_t> sent, ended = rig.target.ended_commands;
    for (const auto& c : rig.target.commands) sent.push_back(c.cmd.itt);
    std::sort(sent.begin(), sent.end());
    std::sort(ended.begin(), ended.end());
    CHECK(ended == sent);
    CHECK(rig.target.violations.empty());
    CHECK(rig.session->tasks_in_flight() == 0);
}

TEST_CASE("the CmdSN window bounds the commands in flight; queued ones go when it opens") {
    TargetOptions o;
    o.window = 2;
    o.hold_commands = true;
    Rig rig(o);
    REQUIRE(rig.login().ok());
    Recorder rec;
    std::uint8_t* buf = io_buffer(rig, 512 * 6);
    ScsiTask tasks[6];
    for (int i = 0; i < 6; ++i) {
        make_read(tasks[i], rec, buf + 512 * i, std::uint64_t(i), 512);
        rig.session->submit(tasks[i]);
    }
    REQUIRE(rig.run_until([&] { return rig.target.commands.size() == 2; }));
    run_for(*rig.loop, 30ms);
    CHECK(rig.target.commands.size() == 2);  // the window is closed: nothing more goes out
    CHECK(rec.done.empty());

    rig.target.release(1);  // one answer moves MaxCmdSN by one
    REQUIRE(rig.run_until([&] { return rec.done.size() == 1 && rig.target.commands.size() == 3; }));
    run_for(*rig.loop, 10ms);
    CHECK(rig.target.commands.size() == 3);
    CHECK(rig.target.max_outstanding == 2);

    rig.target.set_window(8);  // a NOP-In opens the window without any completion
    REQUIRE(rig.run_until([&] { return rig.target.commands.size() == 6; }));
    CHECK(rec.done.size() == 1);
    rig.target.release();
    REQUIRE(rig.run_until([&] { return rec.done.size() == 6; }));
    for (auto& t : tasks) CHECK(t.error == 0);
    for (std::size_t i = 0; i < 6; ++i) CHECK(rig.target.commands[i].cmd.cmdsn == 77u + i);
    CHECK(rig.target.violations.empty());  // no CmdSN ever beyond the advertised MaxCmdSN
}

TEST_CASE("TCP write: immediate data only") {
    TargetOptions o;  // ImmediateData=Yes, InitialR2T=Yes
    o.max_recv_data_segment_length = 8192;
    Rig rig(o);
    REQUIRE(rig.login().ok());
    write_and_check(rig, 4096);
    REQUIRE(rig.target.commands.size() == 1);
    CHECK(rig.target.commands[0].immediate == 4096);
    CHECK(rig.target.commands[0].cmd.final);
    CHECK(rig.target.data_outs.empty());
    CHECK(rig.target.r2ts.empty());
    CHECK(rig.target.violations.empty());
}

TEST_CASE("TCP write: immediate + unsolicited Data-Out up to FirstBurstLength, then R2T") {
    TargetOptions o;
    o.initial_r2t = false;
    o.first_burst_length = 16384;
    o.max_recv_data_segment_length = 4096;
    Rig rig(o);
    REQUIRE(rig.login().ok());
    write_and_check(rig, 65536);
    REQUIRE(rig.target.commands.size() == 1);
    CHECK(rig.target.commands[0].immediate == 4096);
    CHECK_FALSE(rig.target.commands[0].cmd.final);  // unsolicited Data-Out follows
    CHECK(data_out_bytes(rig.target, pdu::kReservedTag) == 16384 - 4096);
    std::uint32_t expect_offset = 4096, datasn = 0;
    for (const auto& d : rig.target.data_outs) {
        if (d.pdu.ttt != pdu::kReservedTag) continue;
        CHECK(d.pdu.buffer_offset == expect_offset);
        CHECK(d.pdu.datasn == datasn++);
        CHECK(d.pdu.data_length <= 4096);
        expect_offset += d.pdu.data_length;
        CHECK(d.pdu.final == (expect_offset == 16384));
    }
    REQUIRE(rig.target.r2ts.size() == 1);
    CHECK(rig.target.r2ts[0].offset == 16384);
    CHECK(rig.target.r2ts[0].length == 65536 - 16384);
    CHECK(data_out_bytes(rig.target, rig.target.r2ts[0].ttt) == 65536 - 16384);
    CHECK(rig.target.violations.empty());
}

TEST_CASE("TCP write: solicited Data-Out split at MaxRecvDataSegmentLength within each R2T") {
    TargetOptions o;
    o.immediate_data = false;
    o.max_burst_length = 16384;
    o.first_burst_length = 8192;
    o.max_recv_data_segment_length = 8192;
    Rig rig(o);
    REQUIRE(rig.login().ok());
    CHECK_FALSE(rig.session->params().immediate_data);
    write_and_check(rig, 40960);
    REQUIRE(rig.target.commands.size() == 1);
    CHECK(rig.target.commands[0].immediate == 0);
    CHECK(rig.target.commands[0].cmd.final);
    REQUIRE(rig.target.r2ts.size() == 3);
    const std::uint32_t lengths[] = {16384, 16384, 8192};
    for (std::size_t i = 0; i < 3; ++i) {
        const auto& r = rig.target.r2ts[i];
        CHECK(r.length == lengths[i]);
        std::uint32_t off = r.offset, datasn = 0;
        for (const auto& d : rig.target.data_outs) {
            if (d.pdu.ttt != r.ttt) continue;
            CHECK(d.pdu.data_length <= 8192);
            CHECK(d.pdu.buffer_offset == off);
            CHECK(d.pdu.datasn == datasn++);  // DataSN restarts for every R2T
            off += d.pdu.data_length;
            CHECK(off <= r.offset + r.length);
            CHECK(d.pdu.final == (off == r.offset + r.length));
        }
        CHECK(off == r.offset + r.length);
    }
    CHECK(rig.target.data_outs.size() == 5);  // 2 + 2 + 1
    CHECK(rig.target.violations.empty());
}

TEST_CASE("iSER write: immediate bytes are min(FirstBurstLength, TargetRecvDataSegmentLength), no Data-Out") {
    SUBCASE("segment limit smaller") {
        TargetOptions o;
        o.target_moves_data = true;
        o.initial_r2t = false;  // even then the target RDMA-Reads the rest: no unsolicited Data-Out
        o.first_burst_length = 65536;
        o.max_recv_data_segment_length = 8192;
        Rig rig(o);
        REQUIRE(rig.login().ok());
        CHECK(rig.session->params().rdma_extensions);
        write_and_check(rig, 32768);
        REQUIRE(rig.target.commands.size() == 1);
        CHECK(rig.target.commands[0].immediate == 8192);
        CHECK(rig.target.commands[0].cmd.final);
        CHECK(rig.target.data_outs.empty());
        CHECK(rig.target.r2ts.empty());
        CHECK(rig.target.violations.empty());
    }
    SUBCASE("first burst smaller") {
        TargetOptions o;
        o.target_moves_data = true;
        o.first_burst_length = 4096;
        o.max_recv_data_segment_length = 8192;
        Rig rig(o);
        REQUIRE(rig.login().ok());
        write_and_check(rig, 16384);
        REQUIRE(rig.target.commands.size() == 1);
        CHECK(rig.target.commands[0].immediate == 4096);
        CHECK(rig.target.data_outs.empty());
        CHECK(rig.target.violations.empty());
    }
}

TEST_CASE("TCP read: several Data-In PDUs placed in the buffer, status collapsed into the last") {
    for (bool collapse : {true, false}) {
        CAPTURE(collapse);
        TargetOptions o;
        o.data_in_size = 4096;
        o.phase_collapse = collapse;
        Rig rig(o);
        REQUIRE(rig.login().ok());
        auto& disk = rig.target.lun(0).data;
        fill_pattern(disk.data() + 100 * 512, 20480, 0x55);
        Recorder rec;
        ScsiTask t;
        std::uint8_t* buf = io_buffer(rig, 20480);
        make_read(t, rec, buf, 100, 20480);
        rig.session->submit(t);
        REQUIRE(rig.run_until([&] { return rec.done.size() == 1; }));
        CHECK(t.error == 0);
        CHECK(t.status == 0);
        CHECK(t.transferred == 20480);
        CHECK_FALSE(t.underflow);
        CHECK(std::memcmp(buf, disk.data() + 100 * 512, 20480) == 0);
        CHECK(rig.target.violations.empty());
    }
}

TEST_CASE("iSER read: the target writes the buffer, transferred comes from the residual") {
    TargetOptions o;
    o.target_moves_data = true;
    Rig rig(o);
    REQUIRE(rig.login().ok());
    auto& disk = rig.target.lun(0).data;
    fill_pattern(disk.data(), 8192, 0x21);
    Recorder rec;
    ScsiTask t;
    std::uint8_t* buf = io_buffer(rig, 8192);
    make_read(t, rec, buf, 0, 8192);
    rig.session->submit(t);
    REQUIRE(rig.run_until([&] { return rec.done.size() == 1; }));
    CHECK(t.error == 0);
    CHECK(t.transferred == 8192);
    CHECK(std::memcmp(buf, disk.data(), 8192) == 0);
    CHECK(rig.target.violations.empty());
}

TEST_CASE("a SCSI Response with sense data fills task.sense") {
    Rig rig;
    REQUIRE(rig.login().ok());
    rig.target.injections.push_back({scsi::opcode::Read16, Injection::Kind::Status, 0x02, 0x03, 0x11, 0x00, 1});
    Recorder rec;
    ScsiTask t;
    std::uint8_t* buf = io_buffer(rig, 512);
    make_read(t, rec, buf, 0, 512);
    rig.session->submit(t);
    REQUIRE(rig.run_until([&] { return rec.done.size() == 1; }));
    CHECK(t.error == 0);
    CHECK(t.status == 0x02);
    REQUIRE(t.sense_length == 18);
    CHECK(t.sense[0] == 0x70);
    CHECK(t.sense[2] == 0x03);   // MEDIUM ERROR
    CHECK(t.sense[12] == 0x11);  // UNRECOVERED READ ERROR
}

TEST_CASE("a NOP-In ping is answered with a NOP-Out echoing its TTT and data") {
    Rig rig;
    REQUIRE(rig.login().ok());
    rig.target.ping(0x1234, {'p', 'i', 'n', 'g', '!'});
    REQUIRE(rig.run_until([&] { return rig.target.nop_outs.size() == 1; }));
    const auto& n = rig.target.nop_outs[0];
    CHECK(n.pdu.itt == pdu::kReservedTag);
    CHECK(n.pdu.ttt == 0x1234);
    CHECK(n.pdu.immediate);
    CHECK(n.data == std::vector<std::uint8_t>{'p', 'i', 'n', 'g', '!'});
    CHECK(rig.target.violations.empty());
    CHECK(rig.session->state() == Session::State::FullFeature);
}

TEST_CASE("NOP-Out answers keep their data until the datamover has sent it") {
    TargetOptions o;
    o.read_nop_data_later = true;
    Rig rig(o);
    REQUIRE(rig.login().ok());
    const std::vector<std::uint8_t> first{'o', 'n', 'e'};
    const std::vector<std::uint8_t> second(200, 'x');  // larger: a shared buffer would reallocate
    rig.target.ping(0x10, first);
    rig.target.ping(0x11, second);
    REQUIRE(rig.run_until([&] { return rig.target.nop_outs.size() == 2; }));
    run_for(*rig.loop, 5ms);
    CHECK(rig.target.nop_outs[0].pdu.ttt == 0x10);
    CHECK(rig.target.nop_outs[0].data == first);
    CHECK(rig.target.nop_outs[1].pdu.ttt == 0x11);
    CHECK(rig.target.nop_outs[1].data == second);
}

TEST_CASE("keepalive: answered pings keep the session, a missing answer drops it") {
    auto short_keepalive = [](session::SessionConfig& c) {
        c.nop_interval = 20ms;
        c.nop_timeout = 40ms;
        c.replacement_timeout = 0ms;  // without recovery (see recovery_test.cpp for the rest)
    };
    SUBCASE("answered") {
        Rig rig({}, short_keepalive);
        REQUIRE(rig.login().ok());
        REQUIRE(rig.run_until([&] { return rig.target.nop_outs.size() >= 3; }));
        CHECK(rig.session->state() == Session::State::FullFeature);
        CHECK(rig.failures == 0);
        CHECK(rig.target.nop_outs[0].pdu.itt != rig.target.nop_outs[1].pdu.itt);
        CHECK(rig.target.nop_outs[0].pdu.ttt == pdu::kReservedTag);
        CHECK(rig.target.violations.empty());
    }
    SUBCASE("unanswered") {
        TargetOptions o;
        o.answer_pings = false;
        o.hold_commands = true;
        Rig rig(o, short_keepalive);
        REQUIRE(rig.login().ok());
        Recorder rec;
        ScsiTask t;
        make_tur(t, rec);
        rig.session->submit(t);
        REQUIRE(rig.run_until([&] { return rig.failures == 1; }, 1000ms));
        CHECK(rig.last_failure.code == ETIMEDOUT);
        CHECK(rig.session->state() == Session::State::Failed);
        REQUIRE(rig.run_until([&] { return rec.done.size() == 1; }));
        CHECK(t.error == ETIMEDOUT);
        CHECK(rig.target.closes >= 1);
    }
}

TEST_CASE("a Reject fails the rejected task only") {
    Rig rig;
    REQUIRE(rig.login().ok());
    rig.target.injections.push_back({scsi::opcode::TestUnitReady, Injection::Kind::Reject, 0, 0, 0, 0, 1});
    Recorder rec;
    std::uint8_t* buf = io_buffer(rig, 1024);
    ScsiTask r1, tur, r2;
    make_read(r1, rec, buf, 0, 512);
    make_tur(tur, rec);
    make_read(r2, rec, buf + 512, 1, 512);
    rig.session->submit(r1);
    rig.session->submit(tur);
    rig.session->submit(r2);
    REQUIRE(rig.run_until([&] { return rec.done.size() == 3; }));
    CHECK(r1.error == 0);
    CHECK(r2.error == 0);
    CHECK(tur.error == EIO);
    CHECK(rig.session->state() == Session::State::FullFeature);
    CHECK(rig.session->tasks_in_flight() == 0);
}

TEST_CASE("without recovery a disconnect fails every outstanding and queued task exactly once") {
    TargetOptions o;
    o.window = 2;
    o.hold_commands = true;
    Rig rig(o, [](session::SessionConfig& c) { c.replacement_timeout = 0ms; });
    REQUIRE(rig.login().ok());
    Recorder rec;
    std::uint8_t* buf = io_buffer(rig, 512 * 5);
    ScsiTask tasks[5];
    for (int i = 0; i < 5; ++i) {
        make_read(tasks[i], rec, buf + 512 * i, 0, 512);
        rig.session->submit(tasks[i]);
    }
    REQUIRE(rig.run_until([&] { return rig.target.commands.size() == 2; }));
    rig.target.disconnect();
    REQUIRE(rig.run_until([&] { return rec.done.size() == 5; }));
    run_for(*rig.loop, 20ms);
    CHECK(rec.done.size() == 5);
    for (auto& t : tasks) {
        CHECK(rec.count[&t] == 1);
        CHECK(t.error == ECONNRESET);
    }
    CHECK(rig.failures == 1);
    CHECK(rig.session->state() == Session::State::Failed);
    CHECK(rig.session->tasks_in_flight() == 0);

    // Later submissions fail at once, but never from inside submit().
    ScsiTask late;
    make_tur(late, rec);
    rig.session->submit(late);
    CHECK(rec.count[&late] == 0);
    REQUIRE(rig.run_until([&] { return rec.count[&late] == 1; }));
    CHECK(late.error == ENOTCONN);
    CHECK(rig.failures == 1);
}

TEST_CASE("without recovery a SCSI Response for an unknown ITT is a protocol error that drops the session") {
    TargetOptions o;
    o.hold_commands = true;
    Rig rig(o, [](session::SessionConfig& c) { c.replacement_timeout = 0ms; });
    REQUIRE(rig.login().ok());
    Recorder rec;
    ScsiTask t;
    make_tur(t, rec);
    rig.session->submit(t);
    REQUIRE(rig.run_until([&] { return rig.target.commands.size() == 1; }));
    rig.target.send_garbage_response(0x7777);
    REQUIRE(rig.run_until([&] { return rec.done.size() == 1 && rig.failures == 1; }));
    CHECK(t.error == EPROTO);
    CHECK(rig.last_failure.code == EPROTO);
    CHECK(rig.last_failure.message.find("unknown ITT") != std::string::npos);
    CHECK(rig.session->state() == Session::State::Failed);
    CHECK(rig.target.closes >= 1);
}

TEST_CASE("logout waits for in-flight and queued commands, then completes") {
    TargetOptions o;
    o.window = 2;
    o.hold_commands = true;
    Rig rig(o);
    REQUIRE(rig.login().ok());
    Recorder rec;
    std::uint8_t* buf = io_buffer(rig, 512 * 3);
    ScsiTask tasks[3];
    for (int i = 0; i < 3; ++i) {
        make_read(tasks[i], rec, buf + 512 * i, 0, 512);
        rig.session->submit(tasks[i]);
    }
    REQUIRE(rig.run_until([&] { return rig.target.commands.size() == 2; }));
    bool done = false;
    Status result = make_error(EINPROGRESS, "pending");
    rig.session->logout([&](Status st) {
        done = true;
        result = std::move(st);
    });
    CHECK(rig.session->state() == Session::State::LoggingOut);
    run_for(*rig.loop, 20ms);
    CHECK(rig.target.logout_requests.empty());

    // New work is refused while logging out.
    ScsiTask refused;
    make_tur(refused, rec);
    rig.session->submit(refused);
    REQUIRE(rig.run_until([&] { return rec.count[&refused] == 1; }));
    CHECK(refused.error == ESHUTDOWN);

    rig.target.release(2);
    REQUIRE(rig.run_until([&] { return rig.target.commands.size() == 3; }));  // the queued one still goes
    CHECK(rig.target.logout_requests.empty());
    rig.target.release();
    REQUIRE(rig.run_until([&] { return done; }));
    CHECK(result.ok());
    for (auto& t : tasks) CHECK(t.error == 0);
    REQUIRE(rig.target.logout_requests.size() == 1);
    CHECK(rig.target.logout_requests[0].reason == 0);
    CHECK(rig.session->state() == Session::State::Closed);
    CHECK(rig.failures == 0);
    CHECK(rig.target.closes == 1);
    CHECK(rig.target.violations.empty());
}

TEST_CASE("a logout that the target never answers times out and closes") {
    TargetOptions o;
    o.answer_logout = false;
    Rig rig(o, [](session::SessionConfig& c) {
        c.logout_timeout = 20ms;
        c.nop_timeout = 10ms;
    });
    REQUIRE(rig.login().ok());
    bool done = false;
    Status result;
    rig.session->logout([&](Status st) {
        done = true;
        result = std::move(st);
    });
    REQUIRE(rig.run_until([&] { return done; }));
    CHECK_FALSE(result.ok());
    CHECK(result.error().code == ETIMEDOUT);
    CHECK(rig.session->state() == Session::State::Closed);
}

TEST_CASE("a logout that times out with commands still in flight fails them") {
    TargetOptions o;
    o.hold_commands = true;  // the commands are never answered
    o.window = 1;
    Rig rig(o, [](session::SessionConfig& c) {
        c.logout_timeout = 20ms;
        c.nop_timeout = 10ms;
    });
    REQUIRE(rig.login().ok());
    Recorder rec;
    ScsiTask a, b;
    make_tur(a, rec);
    make_tur(b, rec);
    rig.session->submit(a);
    rig.session->submit(b);  // waits for the window
    bool done = false;
    Status result;
    rig.session->logout([&](Status st) {
        done = true;
        result = std::move(st);
    });
    REQUIRE(rig.run_until([&] { return done; }));
    CHECK(result.error().code == ETIMEDOUT);
    REQUIRE(rig.run_until([&] { return rec.done.size() == 2; }));
    CHECK(rec.count[&a] == 1);
    CHECK(rec.count[&b] == 1);
    CHECK(a.error == ETIMEDOUT);
    CHECK(b.error == ETIMEDOUT);
    CHECK(rig.session->tasks_in_flight() == 0);
    CHECK(rig.failures == 0);
}

TEST_CASE("without recovery an Async Message asking for logout logs out and tells the owner the session ended") {
    Rig rig({}, [](session::SessionConfig& c) { c.replacement_timeout = 0ms; });
    REQUIRE(rig.login().ok());
    rig.target.request_logout();
    REQUIRE(rig.run_until([&] { return rig.target.logout_requests.size() == 1; }));
    REQUIRE(rig.run_until([&] { return rig.session->state() == Session::State::Closed; }));
    REQUIRE(rig.run_until([&] { return rig.failures == 1; }));
    CHECK(rig.last_failure.message.find("logout") != std::string::npos);
    CHECK(rig.target.violations.empty());
}

TEST_CASE("submit outside the full feature phase completes later with ENOTCONN") {
    Rig rig;
    Recorder rec;
    ScsiTask t;
    make_tur(t, rec);
    rig.session->submit(t);
    CHECK(rec.done.empty());
    REQUIRE(rig.run_until([&] { return rec.done.size() == 1; }));
    CHECK(t.error == ENOTCONN);
}
