// The sans-IO server session: handshake replies, transmission steps, protocol violations.
#include <doctest/doctest.h>

#include <cstring>
#include <vector>

#include "nbd/session.hpp"

using namespace iser;
using namespace iser::nbd;

namespace {

BlockGeometry geometry() {
    BlockGeometry g;
    g.size_bytes = 1 << 20;
    g.logical_block_size = 512;
    g.physical_block_size = 4096;
    g.max_io_bytes = 64 * 1024;
    g.volatile_cache = true;
    g.fua = true;
    g.discard = true;
    g.name = "memory disk";
    return g;
}

struct Wire {
    std::vector<std::uint8_t> b;
    Wire& u16(std::uint16_t v) { std::uint8_t x[2]; store_be16(x, v); b.insert(b.end(), x, x + 2); return *this; }
    Wire& u32(std::uint32_t v) { std::uint8_t x[4]; store_be32(x, v); b.insert(b.end(), x, x + 4); return *this; }
    Wire& text(std::string_view s) { b.insert(b.end(), s.begin(), s.end()); return *this; }
    Wire& option(std::uint32_t opt, const std::vector<std::uint8_t>& data) {
        std::uint8_t h[kOptionHeaderSize];
        encode_option_header(h, {opt, std::uint32_t(data.size())});
        b.insert(b.end(), h, h + sizeof h);
        b.insert(b.end(), data.begin(), data.end());
        return *this;
    }
    Wire& request(std::uint16_t type, std::uint64_t offset, std::uint32_t length, std::uint64_t handle = 1) {
        std::uint8_t r[kRequestSize];
        encode_request(r, {0, type, handle, offset, length});
        b.insert(b.end(), r, r + sizeof r);
        return *this;
    }
};

// Feeds everything, returning the steps (Payload steps merged into the count only).
std::vector<ServerSession::Step> feed(ServerSession& s, const std::vector<std::uint8_t>& in) {
    std::vector<ServerSession::Step> steps;
    std::size_t pos = 0;
    for (;;) {
        auto step = s.step(Bytes(in).subspan(pos));
        pos += step.consumed;
        if (step.kind == ServerSession::StepKind::NeedMore) break;
        steps.push_back(step);
        if (step.kind == ServerSession::StepKind::Closed) break;
    }
    return steps;
}

}  // namespace

TEST_CASE("export info from geometry") {
    auto info = make_export_info(geometry(), "lun0");
    CHECK(info.size == 1u << 20);
    CHECK(info.transmission_flags == (kFlagHasFlags | kFlagSendFlush | kFlagSendFua | kFlagSendTrim |
                                      kFlagSendWriteZeroes | kFlagCanMultiConn));
    CHECK(info.block_sizes.minimum == 512u);
    CHECK(info.block_sizes.preferred == 4096u);
    CHECK(info.block_sizes.maximum == 65536u);
    auto g = geometry();
    g.read_only = true;
    g.volatile_cache = g.fua = g.discard = false;
    g.physical_block_size = 16384;
    info = make_export_info(g, "lun0");
    CHECK(info.transmission_flags == (kFlagHasFlags | kFlagReadOnly | kFlagSendWriteZeroes | kFlagCanMultiConn));
    CHECK(info.block_sizes.preferred == 16384u);
}

TEST_CASE("request validation") {
    auto info = make_export_info(geometry(), "lun0");
    auto check = [&](std::uint16_t type, std::uint64_t off, std::uint32_t len) {
        return validate_request({0, type, 7, off, len}, info);
    };
    CHECK(check(kCmdRead, 0, 4096) == 0u);
    CHECK(check(kCmdRead, (1 << 20) - 512, 512) == 0u);
    CHECK(check(kCmdRead, (1 << 20) - 512, 1024) == kErrInval);  // past the end
    CHECK(check(kCmdRead, 100, 512) == kErrInval);               // misaligned offset
    CHECK(check(kCmdWrite, 0, 100) == kErrInval);                // misaligned length
    CHECK(check(kCmdWrite, 0, 0) == kErrInval);
    CHECK(check(kCmdWrite, 0, 128 * 1024) == kErrInval);  // over the maximum block size
    CHECK(check(kCmdTrim, 0, 1 << 20) == 0u);             // TRIM is not limited by max_io_bytes
    CHECK(check(kCmdWriteZeroes, 0, 1 << 20) == 0u);
    CHECK(check(kCmdFlush, 0, 0) == 0u);
    CHECK(check(kCmdCache, 0, 512) == kErrInval);
    CHECK(check(42, 0, 512) == kErrInval);
    CHECK(check(kCmdRead, UINT64_MAX - 511, 512) == kErrInval);  // no overflow in the range check
    auto g = geometry();
    g.read_only = true;
    g.discard = false;
    info = make_export_info(g, "lun0");
    CHECK(check(kCmdWrite, 0, 512) == kErrPerm);
    CHECK(check(kCmdWriteZeroes, 0, 512) == kErrPerm);
    CHECK(check(kCmdTrim, 0, 512) == kErrInval);  // not advertised
    CHECK(check(kCmdRead, 0, 512) == 0u);
}

TEST_CASE("fixed newstyle handshake with GO, then requests") {
    ServerSession s(make_export_info(geometry(), "lun0"));
    CHECK(s.output().size() == kServerGreetingSize);
    s.output().clear();

    Wire w;
    w.u32(kClientFlagFixedNewstyle | kClientFlagNoZeroes);
    w.option(kOptStructuredReply, {});
    Wire go;
    go.u32(4).text("lun0").u16(2).u16(kInfoBlockSize).u16(kInfoName);
    w.option(kOptGo, go.b);
    w.request(kCmdWrite, 4096, 1024, 9);
    std::vector<std::uint8_t> payload(1024, 0xab);
    w.b.insert(w.b.end(), payload.begin(), payload.end());
    w.request(kCmdRead, 4096, 1024, 10);
    w.request(kCmdRead, 3, 1024, 11);

    auto steps = feed(s, w.b);
    REQUIRE(steps.size() == 7u);  // flags, SR, GO, WRITE, payload, READ, READ
    CHECK(s.phase() == ServerSession::Phase::Transmission);
    CHECK(steps[3].kind == ServerSession::StepKind::Request);
    CHECK(steps[3].request.handle == 9u);
    CHECK(steps[3].error == 0u);
    CHECK(steps[4].kind == ServerSession::StepKind::Payload);
    CHECK(steps[4].payload.size() == 1024u);
    CHECK(steps[4].payload_done);
    CHECK(steps[5].request.type == kCmdRead);
    CHECK(steps[6].error == kErrInval);

    // Replies: ERR_UNSUP for STRUCTURED_REPLY, then INFO_EXPORT, INFO_NAME, INFO_BLOCK_SIZE, ACK.
    std::vector<std::uint8_t> expect;
    append_option_error(expect, kOptStructuredReply, kRepErrUnsup, "option not supported");
    append_info_export(expect, kOptGo, 1 << 20, s.info().transmission_flags);
    append_info_string(expect, kOptGo, kInfoName, "lun0");
    append_info_block_size(expect, kOptGo, {512, 4096, 65536});
    append_option_reply(expect, kOptGo, kRepAck);
    CHECK(s.output() == expect);
}

TEST_CASE("payload split across reads, or read directly") {
    ServerSession s(make_export_info(geometry(), ""));
    Wire w;
    w.u32(kClientFlagFixedNewstyle);
    w.option(kOptExportName, {});
    w.request(kCmdWrite, 0, 2048);
    auto steps = feed(s, w.b);
    REQUIRE(steps.size() == 3u);
    CHECK(s.output().size() == kServerGreetingSize + 134);  // zeroes: NO_ZEROES not asked for
    CHECK(s.payload_remaining() == 2048u);
    std::vector<std::uint8_t> part(1000);
    auto p = s.step(part);
    CHECK(p.kind == ServerSession::StepKind::Payload);
    CHECK_FALSE(p.payload_done);
    CHECK_FALSE(s.payload_received(1000));
    CHECK(s.payload_received(48));
    CHECK(s.payload_remaining() == 0u);
}

TEST_CASE("LIST, INFO for an unknown export, bad INFO data, ABORT") {
    ServerSession s(make_export_info(geometry(), "lun0"));
    s.output().clear();
    Wire w;
    w.u32(kClientFlagFixedNewstyle);
    w.option(kOptList, {});
    Wire info;
    info.u32(3).text("xyz").u16(0);
    w.option(kOptInfo, info.b);
    w.option(kOptInfo, {0, 0});
    w.option(kOptAbort, {});
    auto steps = feed(s, w.b);
    REQUIRE(steps.size() == 5u);
    CHECK(steps[4].kind == ServerSession::StepKind::Closed);
    CHECK(steps[4].graceful);
    std::vector<std::uint8_t> expect;
    append_rep_server(expect, kOptList, "lun0");
    append_option_reply(expect, kOptList, kRepAck);
    append_option_error(expect, kOptInfo, kRepErrUnknown, "unknown export");
    append_option_error(expect, kOptInfo, kRepErrInvalid, "nbd: INFO/GO data shorter than 6 bytes");
    append_option_reply(expect, kOptAbort, kRepAck);
    CHECK(s.output() == expect);
}

TEST_CASE("protocol violations close the session") {
    auto info = make_export_info(geometry(), "lun0");
    SUBCASE("unknown client flags") {
        ServerSession s(info);
        auto steps = feed(s, Wire().u32(0x10).b);
        REQUIRE(steps.size() == 1u);
        CHECK_FALSE(steps[0].graceful);
    }
    SUBCASE("EXPORT_NAME of another export") {
        ServerSession s(info);
        auto steps = feed(s, Wire().u32(1).option(kOptExportName, {'x'}).b);
        REQUIRE(steps.size() == 2u);
        CHECK(steps[1].kind == ServerSession::StepKind::Closed);
    }
    SUBCASE("oversized option") {
        ServerSession s(info);
        Wire w;
        w.u32(1);
        std::uint8_t h[kOptionHeaderSize];
        encode_option_header(h, {kOptGo, 1u << 20});
        w.b.insert(w.b.end(), h, h + sizeof h);
        auto steps = feed(s, w.b);
        REQUIRE(steps.size() == 2u);
        CHECK(steps[1].kind == ServerSession::StepKind::Closed);
    }
    SUBCASE("bad request magic, huge WRITE") {
        for (std::uint32_t variant = 0; variant < 2; ++variant) {
            ServerSession s(info);
            Wire w;
            w.u32(1).option(kOptExportName, {});
            if (variant == 0) {
                w.request(kCmdRead, 0, 512);
                w.b[w.b.size() - kRequestSize] = 0;
            } else {
                w.request(kCmdWrite, 0, 0x10000000);
            }
            auto steps = feed(s, w.b);
            REQUIRE(steps.size() == 3u);
            CHECK(steps[2].kind == ServerSession::StepKind::Closed);
            CHECK_FALSE(steps[2].graceful);
        }
    }
    SUBCASE("DISC is a graceful close") {
        ServerSession s(info);
        auto steps = feed(s, Wire().u32(1).option(kOptExportName, {}).request(kCmdDisc, 0, 0).b);
        REQUIRE(steps.size() == 3u);
        CHECK(steps[2].graceful);
    }
    SUBCASE("an over-long WRITE is rejected but its payload consumed") {
        ServerSession s(info);
        Wire w;
        w.u32(1).option(kOptExportName, {}).request(kCmdWrite, 0, 128 * 1024);
        w.b.resize(w.b.size() + 128 * 1024);
        w.request(kCmdFlush, 0, 0);
        auto steps = feed(s, w.b);
        REQUIRE(steps.size() >= 4u);
        CHECK(steps[2].error == kErrInval);
        CHECK(steps.back().request.type == kCmdFlush);
        CHECK(steps.back().error == 0u);
    }
}

TEST_CASE("transmission-only session: no greeting, requests from the first byte") {
    // The kernel NBD driver's sockets (handed over netlink) carry requests at once.
    ServerSession s(make_export_info(geometry(), "lun0"), true);
    CHECK(s.phase() == ServerSession::Phase::Transmission);
    CHECK(s.output().empty());
    Wire w;
    w.request(kCmdWrite, 512, 512, 3);
    w.b.insert(w.b.end(), 512, 0x5a);
    w.request(kCmdDisc, 0, 0, 4);
    auto steps = feed(s, w.b);
    REQUIRE(steps.size() == 3u);  // WRITE, payload, DISC
    CHECK(steps[0].kind == ServerSession::StepKind::Request);
    CHECK(steps[0].request.type == kCmdWrite);
    CHECK(steps[0].request.handle == 3u);
    CHECK(steps[0].error == 0u);
    CHECK(steps[1].payload_done);
    CHECK(steps[2].kind == ServerSession::StepKind::Closed);
    CHECK(steps[2].graceful);
    CHECK(s.output().empty());

    // Handshake bytes are not options here: client flags are read as a (bad) request magic.
    ServerSession t(make_export_info(geometry(), "lun0"), true);
    Wire flags;
    flags.u32(kClientFlagFixedNewstyle).u32(0).u32(0).u32(0).u32(0).u32(0).u32(0);
    auto bad = feed(t, flags.b);
    REQUIRE(bad.size() == 1u);
    CHECK(bad[0].kind == ServerSession::StepKind::Closed);
    CHECK_FALSE(bad[0].graceful);
}

TEST_CASE("set_export_size: a resized LUN moves the end requests are checked against") {
    ServerSession s(make_export_info(geometry(), "lun0"), true);
    const std::uint64_t old_size = s.info().size;
    Wire past;
    past.request(kCmdRead, old_size, 512, 1);
    auto before = feed(s, past.b);
    REQUIRE(before.size() == 1u);
    CHECK(before[0].error == kErrInval);
    s.set_export_size(old_size * 2);
    CHECK(s.info().size == old_size * 2);
    auto after = feed(s, past.b);
    REQUIRE(after.size() == 1u);
    CHECK(after[0].kind == ServerSession::StepKind::Request);
    CHECK(after[0].error == 0u);
    s.set_export_size(old_size / 2);  // shrunk: the old end is out of range again
    auto shrunk = feed(s, past.b);
    REQUIRE(shrunk.size() == 1u);
    CHECK(shrunk[0].error == kErrInval);
}
