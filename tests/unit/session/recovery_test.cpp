// Session recovery over the scripted fake target: reconnect and reinstatement after a lost
// connection, held I/O reissued in order, the replacement timeout, command timeouts escalating
// through ABORT TASK and LOGICAL UNIT RESET, NOP timeouts, target-requested logout, portal
// failover and reconnect backoff.
#include <doctest/doctest.h>

#include <cstring>

#include "initiator/scsi/cdb.hpp"
#include "test_support.hpp"

using namespace iser;
using namespace fake;
using session::RecoveryEvent;
using session::ScsiTask;
using session::Session;

namespace {

// Short timers so recovery happens within a test's lifetime.
void fast_recovery(session::SessionConfig& c) {
    c.replacement_timeout = 2000ms;
    c.reconnect_delay_first = 10ms;
    c.reconnect_delay_max = 40ms;
    c.login.offer.default_time2wait = 0;
}

struct RecoveryRig : Rig {
    std::vector<RecoveryEvent> events;
    std::vector<int> event_codes;

    explicit RecoveryRig(TargetOptions o = {}, std::function<void(session::SessionConfig&)> tweak = {})
        : Rig(o, [tweak](session::SessionConfig& c) {
              fast_recovery(c);
              if (tweak) tweak(c);
          }) {
        session->on_recovery([this](RecoveryEvent e, const Error* why) {
            events.push_back(e);
            event_codes.push_back(why ? why->code : 0);
        });
    }
    std::uint8_t* buffer(std::size_t bytes) {
        auto mem = session->allocate_io_memory(bytes);
        REQUIRE(mem.ok());
        return mem->base;
    }
    bool full_feature() const { return session->state() == Session::State::FullFeature; }
};

void read_task(ScsiTask& t, Recorder& owner, std::uint8_t* buf, std::uint64_t lba, std::uint32_t bytes) {
    t.cdb = scsi::read16(lba, bytes / 512);
    t.read = true;
    t.write = false;
    t.buffer = buf;
    t.length = bytes;
    t.owner = &owner;
}

void write_task(ScsiTask& t, Recorder& owner, std::uint8_t* buf, std::uint64_t lba, std::uint32_t bytes,
                bool fua = false) {
    t.cdb = scsi::write16(lba, bytes / 512, fua);
    t.read = false;
    t.write = true;
    t.buffer = buf;
    t.length = bytes;
    t.owner = &owner;
}

void flush_task(ScsiTask& t, Recorder& owner) {
    t.cdb = scsi::synchronize_cache16(0, 0);
    t.read = t.write = false;
    t.buffer = nullptr;
    t.length = 0;
    t.owner = &owner;
}

void fill(std::uint8_t* p, std::size_t n, std::uint8_t seed) {
    for (std::size_t i = 0; i < n; ++i) p[i] = std::uint8_t(seed + i * 13 + (i >> 9));
}

// A 4096-byte READ at `lba` that the target receives and never answers (`times` times): the
// command every task-management test times out. Returns the buffer it reads into.
std::uint8_t* submit_unanswered_read(RecoveryRig& rig, Recorder& rec, ScsiTask& t, std::uint64_t lba, int times = 1) {
    rig.target.injections.push_back({scsi::opcode::Read16, Injection::Kind::Drop, 0, 0, 0, 0, times});
    std::uint8_t* buf = rig.buffer(4096);
    read_task(t, rec, buf, lba, 4096);
    rig.session->submit(t);
    return buf;
}

std::vector<std::uint8_t> opcodes_from(const FakeTarget& t, std::size_t first) {
    std::vector<std::uint8_t> out;
    for (std::size_t i = first; i < t.commands.size(); ++i) out.push_back(t.commands[i].cmd.cdb[0]);
    return out;
}

}  // namespace

TEST_CASE("a dropped connection holds reads and writes, reinstates the session and reissues them in order") {
    TargetOptions o;
    SUBCASE("tcp") {}
    SUBCASE("iser") { o.target_moves_data = true; }
    o.hold_commands = true;
    RecoveryRig rig(o, [](session::SessionConfig& c) {
        c.reconnect_delay_first = 100ms;  // time to look at the held state
        c.reconnect_delay_max = 200ms;
    });
    REQUIRE(rig.login().ok());
    const std::size_t first_login_requests = rig.target.login_requests.size();
    auto& disk = rig.target.lun(0).data;
    fill(disk.data() + 100 * 512, 8192, 0x55);

    Recorder rec;
    ScsiTask w1, r1, w2, fl, w3;
    std::uint8_t* b1 = rig.buffer(4096);
    std::uint8_t* rb = rig.buffer(8192);
    std::uint8_t* b2 = rig.buffer(4096);
    std::uint8_t* b3 = rig.buffer(4096);
    fill(b1, 4096, 0x11);
    fill(b2, 4096, 0x22);
    fill(b3, 4096, 0x33);
    write_task(w1, rec, b1, 0, 4096);
    read_task(r1, rec, rb, 100, 8192);
    write_task(w2, rec, b2, 8, 4096, true);
    flush_task(fl, rec);
    write_task(w3, rec, b3, 16, 4096);
    for (ScsiTask* t : {&w1, &r1, &w2, &fl}) rig.session->submit(*t);
    REQUIRE(rig.run_until([&] { return rig.target.held() == 4; }));
    const std::vector<std::uint32_t> first_itts = {rig.target.commands[0].cmd.itt, rig.target.commands[1].cmd.itt,
                                                   rig.target.commands[2].cmd.itt, rig.target.commands[3].cmd.itt};

    rig.target.disconnect();
    REQUIRE(rig.run_until([&] { return !rig.events.empty(); }));
    CHECK(rig.session->state() == Session::State::Reconnecting);
    CHECK(rec.done.empty());  // nothing failed
    CHECK(rig.session->tasks_in_flight() == 0);
    CHECK(rig.session->tasks_waiting() == 4);
    rig.session->submit(w3);  // queued while reconnecting
    CHECK(rig.session->tasks_waiting() == 5);
    rig.target.options.hold_commands = false;
    REQUIRE(rig.run_until([&] { return rec.done.size() == 5; }));
    run_for(*rig.loop, 20ms);

    // The new login: same ISID, TSIH 0 (reinstatement), in every request of both logins.
    REQUIRE(rig.target.login_requests.size() > first_login_requests);
    for (const auto& req : rig.target.login_requests) {
        CHECK(req.isid == rig.session->config().login.isid);
        CHECK(req.tsih == 0);
    }
    CHECK(rig.target.logins == 2);
    // Reissued in submission order (FLUSH after the writes before it), then the queued one.
    REQUIRE(rig.target.commands.size() == 9);
    CHECK(opcodes_from(rig.target, 4) == std::vector<std::uint8_t>{scsi::opcode::Write16, scsi::opcode::Read16,
                                                                   scsi::opcode::Write16,
                                                                   scsi::opcode::SynchronizeCache16,
                                                                   scsi::opcode::Write16});
    CHECK(load_be64(rig.target.commands[4].cmd.cdb.data() + 2) == 0);
    CHECK(load_be64(rig.target.commands[6].cmd.cdb.data() + 2) == 8);
    CHECK((rig.target.commands[6].cmd.cdb[1] & 0x08) != 0);  // FUA kept
    CHECK(load_be64(rig.target.commands[8].cmd.cdb.data() + 2) == 16);
    for (std::size_t i = 5; i < 9; ++i) CHECK(rig.target.commands[i].cmd.cmdsn == rig.target.commands[i - 1].cmd.cmdsn + 1);
    for (ScsiTask* t : {&w1, &r1, &w2, &fl, &w3}) {
        CHECK(rec.count[t] == 1);
        CHECK(t->error == 0);
        CHECK(t->status == 0);
    }
    CHECK(r1.transferred == 8192);
    CHECK(std::memcmp(rb, disk.data() + 100 * 512, 8192) == 0);
    CHECK(std::memcmp(disk.data(), b1, 4096) == 0);
    CHECK(std::memcmp(disk.data() + 8 * 512, b2, 4096) == 0);
    CHECK(std::memcmp(disk.data() + 16 * 512, b3, 4096) == 0);
    CHECK(std::find(first_itts.begin(), first_itts.end(), w1.itt) == first_itts.end());  // new ITTs
    CHECK(rig.events == std::vector<RecoveryEvent>{RecoveryEvent::Reconnecting, RecoveryEvent::Reconnected});
    CHECK(rig.event_codes[0] == ECONNRESET);
    CHECK(rig.session->stats().reconnects == 1);
    CHECK(rig.session->stats().tasks_failed_eio == 0);
    CHECK(rig.failures == 0);
    CHECK(rig.target.io_allocations >= 8);  // the new datamover got every region again
    CHECK(rig.target.violations.empty());
}

TEST_CASE("the replacement timeout fails held and new I/O with EIO; a later reconnect makes I/O work again") {
    TargetOptions o;
    o.hold_commands = true;
    RecoveryRig rig(o, [](session::SessionConfig& c) { c.replacement_timeout = 100ms; });
    REQUIRE(rig.login().ok());
    Recorder rec;
    ScsiTask held, late, after;
    std::uint8_t* buf = rig.buffer(4096);
    read_task(held, rec, buf, 0, 4096);
    rig.session->submit(held);
    REQUIRE(rig.run_until([&] { return rig.target.held() == 1; }));
    rig.target.options.connect_fails = true;
    rig.target.disconnect();
    REQUIRE(rig.run_until([&] { return rec.done.size() == 1; }));
    CHECK(held.error == EIO);
    CHECK(rig.failures == 1);
    CHECK(rig.last_failure.code == EIO);
    CHECK(rig.events == std::vector<RecoveryEvent>{RecoveryEvent::Reconnecting, RecoveryEvent::ReplacementTimeout});

    read_task(late, rec, buf, 0, 4096);
    rig.session->submit(late);
    CHECK(rec.count[&late] == 0);  // never from inside submit()
    REQUIRE(rig.run_until([&] { return rec.done.size() == 2; }));
    CHECK(late.error == EIO);
    CHECK(rig.session->stats().tasks_failed_eio == 2);
    CHECK(rig.session->state() == Session::State::Reconnecting);

    // The target comes back: reconnecting went on in the background.
    const std::size_t attempts = rig.target.connects.size();
    rig.target.options.connect_fails = false;
    rig.target.options.hold_commands = false;
    REQUIRE(rig.run_until([&] { return rig.full_feature(); }));
    CHECK(rig.target.connects.size() > attempts);
    fill(rig.target.lun(0).data.data(), 4096, 0x77);
    read_task(after, rec, buf, 0, 4096);
    rig.session->submit(after);
    REQUIRE(rig.run_until([&] { return rec.done.size() == 3; }));
    CHECK(after.error == 0);
    CHECK(std::memcmp(buf, rig.target.lun(0).data.data(), 4096) == 0);
    CHECK(rig.events.back() == RecoveryEvent::Reconnected);
    CHECK(rec.count[&held] == 1);
    CHECK(rig.target.violations.empty());
}

TEST_CASE("a command older than command_timeout is aborted with ABORT TASK for its ITT and CmdSN, then reissued") {
    RecoveryRig rig({}, [](session::SessionConfig& c) {
        c.command_timeout = 50ms;
        c.abort_timeout = 500ms;
    });
    REQUIRE(rig.login().ok());
    fill(rig.target.lun(0).data.data() + 40 * 512, 4096, 0x42);
    Recorder rec;
    ScsiTask t;
    std::uint8_t* buf = submit_unanswered_read(rig, rec, t, 40);
    REQUIRE(rig.run_until([&] { return rec.done.size() == 1; }));
    run_for(*rig.loop, 20ms);

    REQUIRE(rig.target.tmf_requests.size() == 1);
    const auto& abort = rig.target.tmf_requests[0];
    REQUIRE(rig.target.commands.size() == 2);
    const auto& first = rig.target.commands[0].cmd;
    const auto& second = rig.target.commands[1].cmd;
    CHECK(abort.function == 1);
    CHECK(abort.immediate);
    CHECK(abort.referenced_itt == first.itt);
    CHECK(abort.refcmdsn == first.cmdsn);
    CHECK(pdu::decode_lun(abort.lun) == 0);
    CHECK(abort.cmdsn == first.cmdsn + 1);  // immediate: the next CmdSN, not taken
    CHECK(second.itt != first.itt);
    CHECK(second.cmdsn == first.cmdsn + 1);
    CHECK(second.cdb == first.cdb);
    // The aborted command's buffer access ends before the same buffer goes out again.
    REQUIRE(rig.target.ended_commands.size() == 2);
    CHECK(rig.target.ended_commands[0] == first.itt);
    CHECK(rig.target.commands[1].ended_before == 1);
    CHECK(rig.target.ended_commands[1] == second.itt);
    CHECK(t.error == 0);
    CHECK(t.status == 0);
    CHECK(rec.count[&t] == 1);
    CHECK(std::memcmp(buf, rig.target.lun(0).data.data() + 40 * 512, 4096) == 0);
    const auto& s = rig.session->stats();
    CHECK(s.command_timeouts == 1);
    CHECK(s.aborts == 1);
    CHECK(s.retries == 1);
    CHECK(s.lun_resets == 0);
    CHECK(rig.full_feature());
    CHECK(rig.target.violations.empty());
}

TEST_CASE("a late answer for an aborted and reissued command is ignored; an unknown ITT still drops the connection") {
    // LIO 6.12 answers ABORT TASK with "task does not exist" for a command whose response is
    // queued, then sends that response. The command has gone again under a new ITT by then.
    RecoveryRig rig({}, [](session::SessionConfig& c) {
        c.command_timeout = 50ms;
        c.abort_timeout = 500ms;
    });
    REQUIRE(rig.login().ok());
    rig.target.options.abort_response = 1;  // task does not exist
    fill(rig.target.lun(0).data.data() + 40 * 512, 4096, 0x5a);
    Recorder rec;
    ScsiTask t;
    std::uint8_t* buf = submit_unanswered_read(rig, rec, t, 40);
    REQUIRE(rig.run_until([&] { return rec.done.size() == 1; }));
    REQUIRE(rig.target.commands.size() == 2);
    const std::uint32_t old_itt = rig.target.commands[0].cmd.itt;
    CHECK(t.error == 0);
    CHECK(std::memcmp(buf, rig.target.lun(0).data.data() + 40 * 512, 4096) == 0);

    rig.target.send_garbage_response(old_itt);
    run_for(*rig.loop, 20ms);
    CHECK(rig.full_feature());
    CHECK(rig.session->stats().late_answers == 1);
    CHECK(rig.session->stats().reconnects == 0);
    CHECK(rig.target.connects.size() == 1);
    CHECK(rec.count[&t] == 1);  // the reissued command is not completed again

    // Over TCP the late answer may be a Data-In with data: read off the wire into nothing.
    rig.target.send_garbage_data_in(old_itt, 4096);
    run_for(*rig.loop, 20ms);
    CHECK(rig.full_feature());
    CHECK(rig.session->stats().late_answers == 2);
    CHECK(rig.target.connects.size() == 1);
    CHECK(std::memcmp(buf, rig.target.lun(0).data.data() + 40 * 512, 4096) == 0);

    // An ITT the session never retired is still a protocol error.
    rig.target.send_garbage_response(old_itt ^ 0x00010000);
    REQUIRE(rig.run_until([&] { return rig.target.connects.size() == 2; }));
    CHECK(rig.session->stats().late_answers == 2);
    CHECK(rig.target.violations.empty());
}

TEST_CASE("a command that keeps timing out fails with EIO after 5 retries") {
    RecoveryRig rig({}, [](session::SessionConfig& c) {
        c.command_timeout = 20ms;
        c.abort_timeout = 500ms;
    });
    REQUIRE(rig.login().ok());
    Recorder rec;
    ScsiTask t;
    submit_unanswered_read(rig, rec, t, 0, 100);
    REQUIRE(rig.run_until([&] { return rec.done.size() == 1; }, 3000ms));
    CHECK(t.error == EIO);
    CHECK(rig.target.commands.size() == 6);  // the first issue and 5 retries
    CHECK(rig.target.tmf_requests.size() == 6);
    CHECK(rig.session->stats().retries == 5);
    CHECK(rig.session->stats().tasks_failed_eio == 1);
    run_for(*rig.loop, 50ms);
    CHECK(rec.count[&t] == 1);
    CHECK(rig.target.violations.empty());
}

TEST_CASE("an ABORT TASK that is not answered or refused escalates to LOGICAL UNIT RESET, then the LUN's commands are reissued") {
    TargetOptions o;
    SUBCASE("abort not answered") { o.answer_abort = false; }
    SUBCASE("abort refused") { o.abort_response = 5; }
    RecoveryRig rig(o, [](session::SessionConfig& c) {
        c.command_timeout = 40ms;
        c.abort_timeout = 60ms;
    });
    REQUIRE(rig.login().ok());
    Recorder rec;
    ScsiTask t;
    submit_unanswered_read(rig, rec, t, 0);
    REQUIRE(rig.run_until([&] { return rec.done.size() == 1; }));
    REQUIRE(rig.target.tmf_requests.size() == 2);
    CHECK(rig.target.tmf_requests[0].function == 1);
    CHECK(rig.target.tmf_requests[1].function == 5);
    CHECK(rig.target.tmf_requests[1].referenced_itt == pdu::kReservedTag);
    CHECK(pdu::decode_lun(rig.target.tmf_requests[1].lun) == 0);
    CHECK(rig.target.commands.size() == 2);
    CHECK(t.error == 0);
    CHECK(rig.session->stats().lun_resets == 1);
    CHECK(rig.session->stats().retries == 1);
    CHECK(rig.session->stats().reconnects == 0);
    CHECK(rig.target.violations.empty());
}

TEST_CASE("a LOGICAL UNIT RESET that fails drops the connection; recovery reissues the command") {
    TargetOptions o;
    o.answer_abort = false;
    SUBCASE("reset not answered") { o.answer_lun_reset = false; }
    SUBCASE("reset refused") { o.lun_reset_response = 5; }
    RecoveryRig rig(o, [](session::SessionConfig& c) {
        c.command_timeout = 30ms;
        c.abort_timeout = 40ms;
    });
    REQUIRE(rig.login().ok());
    Recorder rec;
    ScsiTask t;
    submit_unanswered_read(rig, rec, t, 0);
    REQUIRE(rig.run_until([&] { return rec.done.size() == 1; }));
    CHECK(t.error == 0);
    CHECK(rig.session->stats().lun_resets == 1);
    CHECK(rig.session->stats().reconnects == 1);
    CHECK(rig.target.logins == 2);
    CHECK(rig.target.commands.size() == 2);
    CHECK(rig.failures == 0);
    CHECK(rig.target.violations.empty());
}

TEST_CASE("a NOP-Out timeout drops the connection and reconnects; the held command completes") {
    TargetOptions o;
    o.answer_pings = false;
    o.hold_commands = true;
    RecoveryRig rig(o, [](session::SessionConfig& c) {
        c.nop_interval = 20ms;
        c.nop_timeout = 30ms;
    });
    REQUIRE(rig.login().ok());
    Recorder rec;
    ScsiTask t;
    read_task(t, rec, rig.buffer(4096), 0, 4096);
    rig.session->submit(t);
    REQUIRE(rig.run_until([&] { return !rig.events.empty(); }));
    CHECK(rig.event_codes.at(0) == ETIMEDOUT);
    rig.target.options.answer_pings = true;
    rig.target.options.hold_commands = false;
    REQUIRE(rig.run_until([&] { return rec.done.size() == 1; }));
    CHECK(t.error == 0);
    CHECK(rig.target.logins == 2);
    CHECK(rig.failures == 0);
    run_for(*rig.loop, 100ms);  // pings answered now: the session stays
    CHECK(rig.full_feature());
    CHECK(rig.session->stats().reconnects == 1);
}

TEST_CASE("an Async Message asking for logout: logout, then a new login; I/O goes on") {
    RecoveryRig rig;
    REQUIRE(rig.login().ok());
    rig.target.request_logout();
    REQUIRE(rig.run_until([&] { return rig.target.logins == 2 && rig.full_feature(); }));
    CHECK(rig.target.logout_requests.size() == 1);
    CHECK(rig.target.logout_requests[0].reason == 0);
    CHECK(rig.failures == 0);
    CHECK(rig.events == std::vector<RecoveryEvent>{RecoveryEvent::Reconnecting, RecoveryEvent::Reconnected});
    Recorder rec;
    ScsiTask t;
    read_task(t, rec, rig.buffer(4096), 0, 4096);
    rig.session->submit(t);
    REQUIRE(rig.run_until([&] { return rec.done.size() == 1; }));
    CHECK(t.error == 0);
    CHECK(rig.target.violations.empty());
}

TEST_CASE("a command submitted during a target-requested logout is held for the new session") {
    TargetOptions o;
    o.answer_logout = false;  // the logout times out: the session is closed all the same
    RecoveryRig rig(o, [](session::SessionConfig& c) { c.logout_timeout = 50ms; });
    REQUIRE(rig.login().ok());
    rig.target.request_logout();
    REQUIRE(rig.run_until([&] { return rig.session->state() == Session::State::LoggingOut; }));
    Recorder rec;
    ScsiTask t;
    read_task(t, rec, rig.buffer(4096), 0, 4096);
    rig.session->submit(t);
    rig.target.options.answer_logout = true;
    REQUIRE(rig.run_until([&] { return rec.done.size() == 1; }));
    CHECK(t.error == 0);
    CHECK(rig.target.logins == 2);
    CHECK(rig.target.commands.size() == 1);  // only on the new session
    CHECK(rig.target.violations.empty());
}

TEST_CASE("logout() during a target-requested logout ends the session; held commands fail once") {
    TargetOptions o;
    o.answer_logout = false;  // keeps the session in LoggingOut until the logout times out
    RecoveryRig rig(o, [](session::SessionConfig& c) { c.logout_timeout = 50ms; });
    REQUIRE(rig.login().ok());
    rig.target.request_logout();
    REQUIRE(rig.run_until([&] { return rig.target.logout_requests.size() == 1; }));
    REQUIRE(rig.session->state() == Session::State::LoggingOut);
    Recorder rec;
    ScsiTask t;
    read_task(t, rec, rig.buffer(4096), 0, 4096);
    rig.session->submit(t);
    bool done = false;
    Status result;
    rig.session->logout([&](Status st) {
        result = st;
        done = true;
    });
    REQUIRE(rig.run_until([&] { return done && rec.done.size() == 1; }));
    run_for(*rig.loop, 50ms);
    CHECK(result.error().code == ETIMEDOUT);
    CHECK(rig.session->state() == Session::State::Closed);
    CHECK(rec.count[&t] == 1);
    CHECK(t.error == ETIMEDOUT);
    CHECK(rig.target.logins == 1);  // no new session after the owner's logout
    CHECK(rig.target.commands.empty());
    CHECK(rig.failures == 0);
}

TEST_CASE("an Async Message dropping the connection holds I/O and reconnects after its Time2Wait") {
    TargetOptions o;
    o.hold_commands = true;
    RecoveryRig rig(o);
    REQUIRE(rig.login().ok());
    Recorder rec;
    ScsiTask t;
    read_task(t, rec, rig.buffer(4096), 0, 4096);
    rig.session->submit(t);
    REQUIRE(rig.run_until([&] { return rig.target.held() == 1; }));
    const auto before = std::chrono::steady_clock::now();
    rig.target.options.hold_commands = false;
    rig.target.async_event(2, 1, 5);  // drop connection, Time2Wait 1 s
    REQUIRE(rig.run_until([&] { return rec.done.size() == 1; }, 3000ms));
    CHECK(rig.target.connect_times.back() - before >= 1000ms);
    CHECK(t.error == 0);
    CHECK(rig.target.logins == 2);
}

TEST_CASE("reconnects rotate through the portals in order and stay on the one that works") {
    RecoveryRig rig({}, [](session::SessionConfig& c) {
        c.portals = {{"alt1", 3261}, {"alt2", 3262}};
    });
    REQUIRE(rig.login().ok());
    rig.target.options.refuse_portals = {"fake-target:3260", "alt1:3261"};
    rig.target.disconnect();
    REQUIRE(rig.run_until([&] { return rig.target.logins == 2 && rig.full_feature(); }));
    CHECK(rig.target.connects ==
          std::vector<std::string>{"fake-target:3260", "fake-target:3260", "alt1:3261", "alt2:3262"});
    rig.target.options.refuse_portals = {"alt2:3262"};
    rig.target.disconnect();
    REQUIRE(rig.run_until([&] { return rig.target.logins == 3 && rig.full_feature(); }));
    CHECK(rig.target.connects == std::vector<std::string>{"fake-target:3260", "fake-target:3260", "alt1:3261",
                                                          "alt2:3262", "alt2:3262", "fake-target:3260"});
}

TEST_CASE("reconnect backoff starts at the first delay, doubles, and stops at the maximum") {
    RecoveryRig rig({}, [](session::SessionConfig& c) {
        c.reconnect_delay_first = 20ms;
        c.reconnect_delay_max = 80ms;
    });
    REQUIRE(rig.login().ok());
    std::chrono::steady_clock::time_point lost;
    rig.session->on_recovery([&](RecoveryEvent e, const Error*) {
        if (e == RecoveryEvent::Reconnecting) lost = std::chrono::steady_clock::now();
    });
    rig.target.options.connect_fails = true;
    rig.target.disconnect();
    REQUIRE(rig.run_until([&] { return rig.target.connects.size() == 7; }, 3000ms));  // 1 login + 6 attempts
    const auto& at = rig.target.connect_times;
    const std::vector<std::chrono::milliseconds> expected = {20ms, 40ms, 80ms, 80ms, 80ms};
    CHECK(at[1] - lost >= 20ms);
    CHECK(at[1] - lost < 20ms + 60ms);
    for (std::size_t i = 0; i < expected.size(); ++i) {
        INFO("interval " << i);
        CHECK(at[i + 2] - at[i + 1] >= expected[i]);
        CHECK(at[i + 2] - at[i + 1] < expected[i] + 60ms);
    }
    CHECK(rig.session->stats().reconnect_attempts == 6);
}

TEST_CASE("reconnect never comes sooner than the negotiated DefaultTime2Wait") {
    RecoveryRig rig({}, [](session::SessionConfig& c) { c.login.offer.default_time2wait = 1; });
    REQUIRE(rig.login().ok());
    REQUIRE(rig.session->params().default_time2wait == 1);
    rig.target.disconnect();
    const auto before = std::chrono::steady_clock::now();
    REQUIRE(rig.run_until([&] { return rig.target.logins == 2; }, 3000ms));
    CHECK(rig.target.connect_times.back() - before >= 1000ms);
}

TEST_CASE("a login refused during reconnect (target not found) is retried until the target is back") {
    TargetOptions o;
    o.hold_commands = true;
    RecoveryRig rig(o);
    REQUIRE(rig.login().ok());
    Recorder rec;
    ScsiTask t;
    read_task(t, rec, rig.buffer(4096), 0, 4096);
    rig.session->submit(t);
    REQUIRE(rig.run_until([&] { return rig.target.held() == 1; }));
    rig.target.options.login_failure = std::make_pair(std::uint8_t(2), std::uint8_t(3));  // not found
    rig.target.options.hold_commands = false;
    rig.target.disconnect();
    REQUIRE(rig.run_until([&] { return rig.target.connects.size() >= 4; }));
    CHECK(rec.done.empty());
    rig.target.options.login_failure.reset();
    REQUIRE(rig.run_until([&] { return rec.done.size() == 1; }));
    CHECK(t.error == 0);
    CHECK(rig.session->stats().reconnects == 1);
    CHECK(rig.failures == 0);
}

TEST_CASE("logout() while reconnecting ends at once and fails the held I/O with EIO") {
    TargetOptions o;
    o.hold_commands = true;
    RecoveryRig rig(o);
    REQUIRE(rig.login().ok());
    Recorder rec;
    ScsiTask t;
    read_task(t, rec, rig.buffer(4096), 0, 4096);
    rig.session->submit(t);
    REQUIRE(rig.run_until([&] { return rig.target.held() == 1; }));
    rig.target.options.connect_fails = true;
    rig.target.disconnect();
    REQUIRE(rig.run_until([&] { return rig.session->state() == Session::State::Reconnecting; }));
    bool done = false;
    rig.session->logout([&](Status st) {
        CHECK(st.ok());
        done = true;
    });
    REQUIRE(rig.run_until([&] { return done && rec.done.size() == 1; }, 200ms));
    CHECK(t.error == EIO);
    CHECK(rig.session->state() == Session::State::Closed);
    const std::size_t attempts = rig.target.connects.size();
    run_for(*rig.loop, 100ms);
    CHECK(rig.target.connects.size() == attempts);  // no more reconnecting
    CHECK(rec.count[&t] == 1);
}

TEST_CASE("destroying a session with tasks outstanding calls nothing afterwards") {
    TargetOptions o;
    o.hold_commands = true;
    bool reconnecting = false;
    SUBCASE("connected") {}
    SUBCASE("reconnecting") { reconnecting = true; }
    RecoveryRig rig(o, [](session::SessionConfig& c) {
        c.command_timeout = 20ms;
        c.nop_interval = 10ms;
    });
    REQUIRE(rig.login().ok());
    Recorder rec;
    ScsiTask t;
    read_task(t, rec, rig.buffer(4096), 0, 4096);
    rig.session->submit(t);
    REQUIRE(rig.run_until([&] { return rig.target.held() == 1; }));
    if (reconnecting) {
        rig.target.options.connect_fails = true;
        rig.target.disconnect();
        REQUIRE(rig.run_until([&] { return rig.session->state() == Session::State::Reconnecting; }));
    }
    rig.session.reset();
    run_for(*rig.loop, 100ms);
    CHECK(rec.done.empty());
}
