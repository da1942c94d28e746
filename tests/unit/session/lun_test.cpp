// LunBackend and probe_luns over a Session and the fake target's memory LUNs.
#include <doctest/doctest.h>

#include <chrono>
#include <cstring>
#include <optional>

#include "initiator/lun/lun_backend.hpp"
#include "initiator/lun/lun_probe.hpp"
#include "initiator/scsi/cdb.hpp"
#include "test_support.hpp"

using namespace iser;
using namespace fake;

namespace {

// LUN 0: a storage array controller (as LIO and many arrays show one); LUN 1: the disk.
void two_luns(FakeTarget& t, bool dpofua = true) {
    t.luns.clear();
    FakeLun controller;
    controller.device_type = 0x0c;
    controller.blocks = 1;
    t.luns[0] = controller;
    FakeLun disk;
    disk.max_transfer_blocks = 16;  // 8 KiB per command: forces splitting
    disk.dpofua = dpofua;
    t.luns[1] = disk;
}

Result<lun::ProbeResult> probe(Rig& rig, std::optional<std::uint32_t> only) {
    bool done = false;
    Result<lun::ProbeResult> out = make_error(EINPROGRESS, "pending");
    lun::probe_luns(*rig.loop, rig.log, *rig.session, only, [&](Result<lun::ProbeResult> r) {
        done = true;
        out = std::move(r);
    });
    REQUIRE(rig.run_until([&] { return done; }));
    return out;
}

struct Completions : BlockCompletion {
    std::map<BlockRequest*, int> result;
    std::map<BlockRequest*, int> count;
    void complete(BlockRequest& r, int res) override {
        result[&r] = res;
        ++count[&r];
    }
};

// A logged-in session, a probed LUN 1 and its backend.
struct LunRig {
    Rig rig;
    std::unique_ptr<lun::LunBackend> backend;
    Completions done;
    std::uint8_t* mem = nullptr;

    explicit LunRig(bool dpofua = true, TargetOptions o = {}, std::function<void(session::SessionConfig&)> tweak = {})
        : rig(o, std::move(tweak)) {
        two_luns(rig.target, dpofua);
        REQUIRE(rig.login().ok());
        auto p = probe(rig, 1);
        REQUIRE(p.ok());
        REQUIRE(p->disks.size() == 1);
        auto b = lun::LunBackend::create(*rig.loop, rig.log, *rig.session, p->disks[0], "fake:lun1", 4);
        REQUIRE(b.ok());
        backend = std::move(*b);
        auto m = backend->allocate_io_memory(1 << 20);
        REQUIRE(m.ok());
        mem = m->base;
        rig.target.commands.clear();
    }

    int run(BlockRequest& r) {
        r.owner = &done;
        backend->submit(r);
        CHECK(done.count[&r] == 0);  // never from inside submit()
        REQUIRE(rig.run_until([&] { return done.count[&r] == 1; }));
        return done.result[&r];
    }

    std::vector<std::uint8_t>& disk() { return rig.target.lun(1).data; }

    std::vector<CommandRecord> commands_with(std::uint8_t opcode) const {
        std::vector<CommandRecord> out;
        for (const auto& c : rig.target.commands)
            if (c.cmd.cdb[0] == opcode) out.push_back(c);
        return out;
    }
};

BlockRequest request(BlockOp op, std::uint64_t offset, std::uint32_t length, std::uint8_t* buffer = nullptr) {
    BlockRequest r;
    r.op = op;
    r.offset = offset;
    r.length = length;
    r.buffer = buffer;
    return r;
}

}  // namespace

TEST_CASE("probe_luns skips the controller at LUN 0 and finds the disk at LUN 1") {
    Rig rig;
    two_luns(rig.target);
    REQUIRE(rig.login().ok());
    auto r = probe(rig, std::nullopt);
    REQUIRE(r.ok());
    REQUIRE(r->skipped.size() == 1);
    CHECK(r->skipped[0].first == 0);
    CHECK(r->skipped[0].second == "peripheral device type 0x0c (storage array controller)");
    REQUIRE(r->disks.size() == 1);
    const auto& d = r->disks[0];
    CHECK(d.lun == 1);
    CHECK(d.inquiry.vendor == "FAKE");
    CHECK(d.capacity.num_blocks == 8192);
    CHECK(d.capacity.block_size == 512);
    CHECK(d.capacity.lbpme);
    REQUIRE(d.limits);
    CHECK(d.limits->max_transfer_blocks == 16);
    REQUIRE(d.provisioning);
    CHECK(d.provisioning->lbpu);
    CHECK(d.write_cache);
    CHECK(d.dpofua);
    CHECK(d.device_id == "FAKE0001");
    const auto g = lun::geometry_for(d, "fake:lun1", lun::kDefaultMaxIoBytes);
    CHECK(g.size_bytes == 8192u * 512u);
    CHECK(g.logical_block_size == 512);
    CHECK(g.max_io_bytes == 8192);
    CHECK(g.volatile_cache);
    CHECK(g.fua);
    CHECK(g.discard);
    CHECK(g.discard_granularity_bytes == 8 * 512);
    CHECK(g.max_discard_bytes == 2048u * 512u);
    CHECK(g.write_zeroes);
    CHECK(rig.target.violations.empty());
}

TEST_CASE("probe_luns with a LUN filter naming a missing LUN fails with ENOENT listing the LUNs") {
    Rig rig;
    two_luns(rig.target);
    REQUIRE(rig.login().ok());
    auto r = probe(rig, 5);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == ENOENT);
    CHECK(r.error().message == "LUN 5 does not exist on the target (LUNs: 0,1)");
}

TEST_CASE("probe_luns retries a UNIT ATTENTION") {
    Rig rig;
    two_luns(rig.target);
    REQUIRE(rig.login().ok());
    rig.target.injections.push_back({scsi::opcode::ReportLuns, Injection::Kind::Status, 0x02, 0x06, 0x29, 0x00, 1});
    auto r = probe(rig, 1);
    REQUIRE(r.ok());
    CHECK(r->disks.size() == 1);
}

TEST_CASE("LunBackend: block writes and reads round-trip through the fake disk") {
    LunRig lr;
    std::uint8_t* out = lr.mem;
    std::uint8_t* in = lr.mem + 65536;
    for (std::size_t i = 0; i < 65536; ++i) out[i] = std::uint8_t(i * 13 + 5);
    auto w = request(BlockOp::Write, 4096, 65536, out);
    CHECK(lr.run(w) == 0);
    CHECK(std::memcmp(lr.disk().data() + 4096, out, 65536) == 0);
    auto r = request(BlockOp::Read, 4096, 65536, in);
    CHECK(lr.run(r) == 0);
    CHECK(std::memcmp(in, out, 65536) == 0);
    CHECK(lr.rig.target.violations.empty());
    CHECK(lr.backend->in_flight() == 0);
}

TEST_CASE("LunBackend: a request larger than max_io_bytes is split into READ(16)s") {
    LunRig lr;
    CHECK(lr.backend->geometry().max_io_bytes == 8192);
    for (std::size_t i = 0; i < 20480; ++i) lr.disk()[40 * 512 + i] = std::uint8_t(i ^ 0x5a);
    auto r = request(BlockOp::Read, 40 * 512, 20480, lr.mem);
    CHECK(lr.run(r) == 0);
    auto reads = lr.commands_with(scsi::opcode::Read16);
    REQUIRE(reads.size() == 3);
    const std::uint64_t lbas[] = {40, 56, 72};
    const std::uint32_t blocks[] = {16, 16, 8};
    for (int i = 0; i < 3; ++i) {
        CHECK(load_be64(&reads[i].cmd.cdb[2]) == lbas[i]);
        CHECK(load_be32(&reads[i].cmd.cdb[10]) == blocks[i]);
        CHECK(reads[i].cmd.expected_length == blocks[i] * 512);
    }
    CHECK(std::memcmp(lr.mem, lr.disk().data() + 40 * 512, 20480) == 0);
}

TEST_CASE("LunBackend: FUA is set on WRITE(16) only when the geometry offers it") {
    for (bool dpofua : {true, false}) {
        CAPTURE(dpofua);
        LunRig lr(dpofua);
        CHECK(lr.backend->geometry().fua == dpofua);
        auto w = request(BlockOp::Write, 0, 4096, lr.mem);
        w.fua = true;
        CHECK(lr.run(w) == 0);
        auto plain = request(BlockOp::Write, 4096, 4096, lr.mem);
        CHECK(lr.run(plain) == 0);
        auto writes = lr.commands_with(scsi::opcode::Write16);
        REQUIRE(writes.size() == 2);
        CHECK(bool(writes[0].cmd.cdb[1] & 0x08) == dpofua);
        CHECK((writes[1].cmd.cdb[1] & 0x08) == 0);
    }
}

TEST_CASE("LunBackend: flush becomes SYNCHRONIZE CACHE(16)") {
    LunRig lr;
    auto f = request(BlockOp::Flush, 0, 0);
    CHECK(lr.run(f) == 0);
    REQUIRE(lr.rig.target.commands.size() == 1);
    const auto& c = lr.rig.target.commands[0].cmd;
    CHECK(c.cdb[0] == scsi::opcode::SynchronizeCache16);
    CHECK(load_be64(&c.cdb[2]) == 0);
    CHECK(load_be32(&c.cdb[10]) == 0);
    CHECK(c.expected_length == 0);
}

TEST_CASE("LunBackend: discard sends an UNMAP parameter list") {
    LunRig lr;
    std::memset(lr.disk().data(), 0xee, 64 * 512);
    auto d = request(BlockOp::Discard, 16 * 512, 32 * 512);
    CHECK(lr.run(d) == 0);
    auto unmaps = lr.commands_with(scsi::opcode::Unmap);
    REQUIRE(unmaps.size() == 1);
    CHECK(load_be16(&unmaps[0].cmd.cdb[7]) == 24);
    REQUIRE(lr.rig.target.unmap_lists.size() == 1);
    const auto& list = lr.rig.target.unmap_lists[0];
    REQUIRE(list.size() == 24);
    CHECK(load_be16(&list[0]) == 22);  // UNMAP DATA LENGTH: bytes after itself
    CHECK(load_be16(&list[2]) == 16);  // one block descriptor
    CHECK(load_be64(&list[8]) == 16);
    CHECK(load_be32(&list[16]) == 32);
    CHECK(lr.disk()[15 * 512] == 0xee);
    CHECK(lr.disk()[16 * 512] == 0);
    CHECK(lr.disk()[48 * 512 - 1] == 0);
    CHECK(lr.disk()[48 * 512] == 0xee);
}

TEST_CASE("LunBackend: write zeroes becomes WRITE SAME(16) with one zero block") {
    LunRig lr;
    std::memset(lr.disk().data(), 0xab, 64 * 512);
    auto z = request(BlockOp::WriteZeroes, 8 * 512, 40 * 512);
    CHECK(lr.run(z) == 0);
    auto ws = lr.commands_with(scsi::opcode::WriteSame16);
    REQUIRE(ws.size() == 1);
    CHECK(load_be64(&ws[0].cmd.cdb[2]) == 8);
    CHECK(load_be32(&ws[0].cmd.cdb[10]) == 40);
    CHECK(ws[0].cmd.expected_length == 512);
    REQUIRE(lr.rig.target.write_same_blocks.size() == 1);
    CHECK(lr.rig.target.write_same_blocks[0] == std::vector<std::uint8_t>(512, 0));
    CHECK(lr.disk()[8 * 512 - 1] == 0xab);
    CHECK(lr.disk()[8 * 512] == 0);
    CHECK(lr.disk()[48 * 512 - 1] == 0);
    CHECK(lr.disk()[48 * 512] == 0xab);
}

TEST_CASE("LunBackend: UNIT ATTENTION is retried, MEDIUM ERROR becomes an errno") {
    LunRig lr;
    lr.rig.target.injections.push_back({scsi::opcode::Read16, Injection::Kind::Status, 0x02, 0x06, 0x29, 0x00, 1});
    auto r = request(BlockOp::Read, 0, 4096, lr.mem);
    CHECK(lr.run(r) == 0);
    CHECK(lr.commands_with(scsi::opcode::Read16).size() == 2);

    lr.rig.target.injections.push_back({scsi::opcode::Read16, Injection::Kind::Status, 0x02, 0x03, 0x11, 0x00, 1});
    auto bad = request(BlockOp::Read, 0, 4096, lr.mem);
    CHECK(lr.run(bad) == ENODATA);  // unrecovered read error, as Linux reports a medium error
    CHECK(lr.commands_with(scsi::opcode::Read16).size() == 3);  // not retried
}

TEST_CASE("LunBackend: BUSY and TASK SET FULL are retried with a growing delay") {
    LunRig lr;
    lr.rig.target.injections.push_back({scsi::opcode::Write16, Injection::Kind::Status, 0x08, 0, 0, 0, 2});
    lr.rig.target.injections.push_back({scsi::opcode::Write16, Injection::Kind::Status, 0x28, 0, 0, 0, 1});
    std::memset(lr.mem, 0x77, 4096);
    auto w = request(BlockOp::Write, 0, 4096, lr.mem);
    const auto start = std::chrono::steady_clock::now();
    CHECK(lr.run(w) == 0);
    const auto elapsed = std::chrono::steady_clock::now() - start;
    CHECK(lr.commands_with(scsi::opcode::Write16).size() == 4);
    CHECK(elapsed >= std::chrono::milliseconds(5 + 10 + 20));
    CHECK(lr.disk()[0] == 0x77);
}

TEST_CASE("LunBackend: invalid requests fail with EINVAL, never from inside submit") {
    LunRig lr;
    auto past_end = request(BlockOp::Read, 8192u * 512u, 512, lr.mem);
    CHECK(lr.run(past_end) == EINVAL);
    auto unaligned = request(BlockOp::Write, 100, 512, lr.mem);
    CHECK(lr.run(unaligned) == EINVAL);
    CHECK(lr.rig.target.commands.empty());
}

TEST_CASE("LunBackend: more requests than slots wait and all complete") {
    LunRig lr;  // depth 4
    std::vector<BlockRequest> reqs;
    for (int i = 0; i < 10; ++i) reqs.push_back(request(BlockOp::Write, std::uint64_t(i) * 4096, 4096, lr.mem + i * 4096));
    for (int i = 0; i < 10; ++i) std::memset(lr.mem + i * 4096, i + 1, 4096);
    for (auto& r : reqs) {
        r.owner = &lr.done;
        lr.backend->submit(r);
    }
    REQUIRE(lr.rig.run_until([&] { return lr.done.count.size() == 10; }));
    for (auto& r : reqs) {
        CHECK(lr.done.count[&r] == 1);
        CHECK(lr.done.result[&r] == 0);
    }
    for (int i = 0; i < 10; ++i) CHECK(lr.disk()[std::size_t(i) * 4096] == i + 1);
    CHECK(lr.rig.target.max_outstanding <= 4);
}

TEST_CASE("LunBackend: a lost session without recovery fails the requests in flight with EIO once") {
    LunRig lr(true, {}, [](session::SessionConfig& c) { c.replacement_timeout = 0ms; });
    lr.rig.target.options.hold_commands = true;
    auto a = request(BlockOp::Read, 0, 4096, lr.mem);
    auto b = request(BlockOp::Read, 4096, 4096, lr.mem + 4096);
    a.owner = b.owner = &lr.done;
    lr.backend->submit(a);
    lr.backend->submit(b);
    REQUIRE(lr.rig.run_until([&] { return lr.rig.target.commands.size() == 2; }));
    lr.rig.target.disconnect();
    REQUIRE(lr.rig.run_until([&] { return lr.done.count.size() == 2; }));
    run_for(*lr.rig.loop, 10ms);
    CHECK(lr.done.count[&a] == 1);
    CHECK(lr.done.count[&b] == 1);
    CHECK(lr.done.result[&a] == EIO);
    CHECK(lr.done.result[&b] == EIO);
    CHECK(lr.backend->in_flight() == 0);
}

TEST_CASE("LunBackend: UNIT ATTENTION capacity data changed re-reads the capacity and reports the new geometry") {
    LunRig lr;
    std::vector<BlockGeometry> changes;
    lr.backend->on_capacity_change([&](const BlockGeometry& g) { changes.push_back(g); });
    const std::uint64_t old_size = lr.backend->geometry().size_bytes;
    lr.rig.target.luns[1].blocks = 16384;  // the LUN grew to 8 MiB
    lr.rig.target.injections.push_back({scsi::opcode::Read16, Injection::Kind::Status, 0x02, 0x06, 0x2a, 0x09, 1});
    auto r = request(BlockOp::Read, 0, 4096, lr.mem);
    CHECK(lr.run(r) == 0);
    REQUIRE(lr.rig.run_until([&] { return changes.size() == 1; }));
    CHECK(old_size == 8192u * 512u);
    CHECK(changes[0].size_bytes == 16384u * 512u);
    CHECK(lr.backend->geometry().size_bytes == 16384u * 512u);
    CHECK(lr.commands_with(scsi::opcode::ServiceActionIn16).size() == 1);
    CHECK(lr.commands_with(scsi::opcode::Read16).size() == 2);  // the attention'd read retried
    // The new end of the LUN is usable.
    auto tail = request(BlockOp::Write, 16000u * 512u, 512, lr.mem);
    CHECK(lr.run(tail) == 0);
}

TEST_CASE("LunBackend: refresh_capacity (rescan) reads the new size, retries its own UNIT ATTENTION, calls no handler") {
    LunRig lr;
    int handler_calls = 0;
    lr.backend->on_capacity_change([&](const BlockGeometry&) { ++handler_calls; });
    lr.rig.target.luns[1].blocks = 16384;
    // The target reports the change to the READ CAPACITY itself, as LIO would to the next command.
    lr.rig.target.injections.push_back(
        {scsi::opcode::ServiceActionIn16, Injection::Kind::Status, 0x02, 0x06, 0x2a, 0x09, 1});
    std::optional<iser::Result<BlockGeometry>> got;
    lr.backend->refresh_capacity([&](iser::Result<BlockGeometry> g) { got = std::move(g); });
    REQUIRE(lr.rig.run_until([&] { return got.has_value(); }));
    REQUIRE(got->ok());
    CHECK((*got)->size_bytes == 16384u * 512u);
    CHECK(lr.backend->geometry().size_bytes == 16384u * 512u);
    CHECK(lr.backend->info().capacity.num_blocks == 16384u);
    CHECK(lr.commands_with(scsi::opcode::ServiceActionIn16).size() == 2);
    CHECK(handler_calls == 0);  // the rescan's caller resizes; no second resize from the handler
    // Unchanged: the geometry in force comes back all the same.
    got.reset();
    lr.backend->refresh_capacity([&](iser::Result<BlockGeometry> g) { got = std::move(g); });
    REQUIRE(lr.rig.run_until([&] { return got.has_value(); }));
    REQUIRE(got->ok());
    CHECK((*got)->size_bytes == 16384u * 512u);
}

TEST_CASE("LunBackend: a new block size is refused live, with the reason, and nothing changes") {
    LunRig lr;
    lr.rig.target.luns[1].block_size = 4096;
    std::optional<iser::Result<BlockGeometry>> got;
    lr.backend->refresh_capacity([&](iser::Result<BlockGeometry> g) { got = std::move(g); });
    REQUIRE(lr.rig.run_until([&] { return got.has_value(); }));
    REQUIRE_FALSE(got->ok());
    CHECK(got->error().message == "the LUN's block size changed from 512 to 4096 bytes; log out and in again");
    CHECK(lr.backend->geometry().logical_block_size == 512u);
    scsi::ReadCapacity16 cap = lr.backend->info().capacity;
    cap.block_size = 4096;
    CHECK_FALSE(lr.backend->apply_capacity(cap));
    CHECK(lr.backend->geometry().logical_block_size == 512u);
}

TEST_CASE("LunBackend: apply_capacity takes another lane's reading; requests past the old end then pass") {
    LunRig lr;
    auto past = request(BlockOp::Read, 8192u * 512u, 512, lr.mem);
    CHECK(lr.run(past) == EINVAL);
    scsi::ReadCapacity16 cap = lr.backend->info().capacity;
    CHECK_FALSE(lr.backend->apply_capacity(cap));  // same size: nothing changes
    cap.num_blocks = 16384;
    lr.rig.target.luns[1].blocks = 16384;
    CHECK(lr.backend->apply_capacity(cap));
    CHECK(lr.backend->geometry().size_bytes == 16384u * 512u);
    CHECK(lr.commands_with(scsi::opcode::ServiceActionIn16).empty());  // nothing asked of the target
    auto again = request(BlockOp::Read, 8192u * 512u, 512, lr.mem);
    CHECK(lr.run(again) == 0);
    // Shrunk: the end moves in, and requests past it fail cleanly.
    cap.num_blocks = 4096;
    CHECK(lr.backend->apply_capacity(cap));
    auto beyond = request(BlockOp::Write, 4096u * 512u, 512, lr.mem);
    CHECK(lr.run(beyond) == EINVAL);
}

TEST_CASE("LunBackend: UNIT ATTENTION reported LUNs changed calls on_luns_changed; reset attention is only retried") {
    LunRig lr;
    int luns_changed = 0;
    lr.backend->on_luns_changed([&] { ++luns_changed; });
    lr.rig.target.injections.push_back({scsi::opcode::Write16, Injection::Kind::Status, 0x02, 0x06, 0x3f, 0x0e, 1});
    auto w = request(BlockOp::Write, 0, 4096, lr.mem);
    CHECK(lr.run(w) == 0);
    REQUIRE(lr.rig.run_until([&] { return luns_changed == 1; }));
    lr.rig.target.injections.push_back({scsi::opcode::Write16, Injection::Kind::Status, 0x02, 0x06, 0x29, 0x00, 1});
    auto w2 = request(BlockOp::Write, 0, 4096, lr.mem);
    CHECK(lr.run(w2) == 0);
    run_for(*lr.rig.loop, 10ms);
    CHECK(luns_changed == 1);
    CHECK(lr.commands_with(scsi::opcode::Write16).size() == 4);
    CHECK(lr.commands_with(scsi::opcode::ServiceActionIn16).empty());
}

TEST_CASE("LunBackend: sense keys map like sd: NOT READY retried later then EIO, RECOVERED ERROR succeeds, space allocation ENOSPC") {
    LunRig lr;
    // Becoming ready twice, then ready: retried after 100 + 200 ms.
    lr.rig.target.injections.push_back({scsi::opcode::Read16, Injection::Kind::Status, 0x02, 0x02, 0x04, 0x01, 2});
    auto r = request(BlockOp::Read, 0, 4096, lr.mem);
    const auto start = std::chrono::steady_clock::now();
    CHECK(lr.run(r) == 0);
    CHECK(std::chrono::steady_clock::now() - start >= std::chrono::milliseconds(300));
    CHECK(lr.commands_with(scsi::opcode::Read16).size() == 3);
    // Manual intervention required: no retry, EIO.
    lr.rig.target.injections.push_back({scsi::opcode::Read16, Injection::Kind::Status, 0x02, 0x02, 0x04, 0x03, 1});
    auto r2 = request(BlockOp::Read, 0, 4096, lr.mem);
    CHECK(lr.run(r2) == EIO);
    CHECK(lr.commands_with(scsi::opcode::Read16).size() == 4);
    // RECOVERED ERROR: the data is there, the request succeeds.
    lr.rig.target.injections.push_back({scsi::opcode::Read16, Injection::Kind::Status, 0x02, 0x01, 0x17, 0x01, 1});
    auto r3 = request(BlockOp::Read, 0, 4096, lr.mem);
    CHECK(lr.run(r3) == 0);
    CHECK(lr.commands_with(scsi::opcode::Read16).size() == 5);
    // Thin pool out of space.
    lr.rig.target.injections.push_back({scsi::opcode::Write16, Injection::Kind::Status, 0x02, 0x07, 0x27, 0x07, 1});
    auto w = request(BlockOp::Write, 0, 4096, lr.mem);
    CHECK(lr.run(w) == ENOSPC);
    // ABORTED COMMAND: retried at once.
    lr.rig.target.injections.push_back({scsi::opcode::Write16, Injection::Kind::Status, 0x02, 0x0b, 0x47, 0x00, 1});
    auto w2 = request(BlockOp::Write, 0, 4096, lr.mem);
    CHECK(lr.run(w2) == 0);
    // Unsupported operation: EOPNOTSUPP.
    lr.rig.target.injections.push_back({scsi::opcode::SynchronizeCache16, Injection::Kind::Status, 0x02, 0x05, 0x20, 0x00, 1});
    auto f = request(BlockOp::Flush, 0, 0);
    CHECK(lr.run(f) == EOPNOTSUPP);
}

TEST_CASE("LunBackend: with session recovery a dropped connection loses no request") {
    LunRig lr(true, {}, [](session::SessionConfig& c) {
        c.reconnect_delay_first = 10ms;
        c.login.offer.default_time2wait = 0;
    });
    lr.rig.target.options.hold_commands = true;
    std::memset(lr.mem, 0x5a, 4096);
    auto w = request(BlockOp::Write, 0, 4096, lr.mem);
    auto f = request(BlockOp::Flush, 0, 0);
    auto r = request(BlockOp::Read, 0, 4096, lr.mem + 8192);
    w.owner = f.owner = r.owner = &lr.done;
    lr.backend->submit(w);
    lr.backend->submit(f);
    lr.backend->submit(r);
    REQUIRE(lr.rig.run_until([&] { return lr.rig.target.held() == 3; }));
    lr.rig.target.disconnect();
    lr.rig.target.options.hold_commands = false;
    REQUIRE(lr.rig.run_until([&] { return lr.done.count.size() == 3; }));
    run_for(*lr.rig.loop, 10ms);
    for (auto* q : {&w, &f, &r}) {
        CHECK(lr.done.count[q] == 1);
        CHECK(lr.done.result[q] == 0);
    }
    CHECK(lr.disk()[0] == 0x5a);
    CHECK(lr.mem[8192] == 0x5a);
    CHECK(lr.rig.session->stats().reconnects == 1);
    CHECK(lr.rig.failures == 0);
}
