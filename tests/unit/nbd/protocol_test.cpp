// Golden bytes for the NBD codec, written out by hand from the field layouts of the NBD
// protocol document, not produced by the encoder under test.
#include <doctest/doctest.h>

#include <cerrno>
#include <vector>

#include "nbd/protocol.hpp"

using namespace iser;
using namespace iser::nbd;

namespace {
std::vector<std::uint8_t> bytes(std::initializer_list<int> list) {
    std::vector<std::uint8_t> v;
    for (int b : list) v.push_back(std::uint8_t(b));
    return v;
}
}  // namespace

TEST_CASE("server greeting: NBDMAGIC, IHAVEOPT, handshake flags") {
    std::vector<std::uint8_t> out;
    append_server_greeting(out, kFlagFixedNewstyle | kFlagNoZeroes);
    CHECK(out == bytes({'N', 'B', 'D', 'M', 'A', 'G', 'I', 'C', 'I', 'H', 'A', 'V', 'E', 'O', 'P', 'T', 0, 3}));
}

TEST_CASE("client flags: known bits accepted, unknown bits are EPROTO") {
    auto ok = bytes({0, 0, 0, 3});
    REQUIRE(decode_client_flags(ok));
    CHECK(*decode_client_flags(ok) == 3u);
    auto bad = bytes({0, 0, 0, 4});
    REQUIRE_FALSE(decode_client_flags(bad));
    CHECK(decode_client_flags(bad).error().code == EPROTO);
}

TEST_CASE("option header decode") {
    auto h = bytes({'I', 'H', 'A', 'V', 'E', 'O', 'P', 'T', 0, 0, 0, 7, 0, 0, 0, 0x0c});
    auto r = decode_option_header(h);
    REQUIRE(r);
    CHECK(r->option == kOptGo);
    CHECK(r->length == 12u);
    h[0] = 'X';
    CHECK(decode_option_header(h).error().code == EPROTO);
    std::uint8_t enc[kOptionHeaderSize];
    encode_option_header(enc, {kOptGo, 12});
    h[0] = 'I';
    CHECK(std::vector<std::uint8_t>(enc, enc + 16) == h);
}

TEST_CASE("request decode and encode: 28 bytes, big-endian") {
    auto wire = bytes({0x25, 0x60, 0x95, 0x13,                          // magic
                       0x00, 0x01,                                      // flags: FUA
                       0x00, 0x01,                                      // type: WRITE
                       0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,  // handle
                       0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x02, 0x00,  // offset 0x100000200
                       0x00, 0x00, 0x10, 0x00});                        // length 4096
    auto r = decode_request(wire);
    REQUIRE(r);
    CHECK(r->flags == kCmdFlagFua);
    CHECK(r->type == kCmdWrite);
    CHECK(r->handle == 0x0102030405060708ull);
    CHECK(r->offset == 0x100000200ull);
    CHECK(r->length == 4096u);
    std::uint8_t enc[kRequestSize];
    encode_request(enc, *r);
    CHECK(std::vector<std::uint8_t>(enc, enc + kRequestSize) == wire);
    wire[3] = 0x14;
    CHECK(decode_request(wire).error().code == EPROTO);
    CHECK(decode_request(Bytes(wire).first(27)).error().code == EPROTO);
}

TEST_CASE("simple reply encode") {
    std::uint8_t out[kSimpleReplySize];
    encode_simple_reply(out, kErrInval, 0xdeadbeefcafef00dull);
    CHECK(std::vector<std::uint8_t>(out, out + 16) ==
          bytes({0x67, 0x44, 0x66, 0x98, 0, 0, 0, 22, 0xde, 0xad, 0xbe, 0xef, 0xca, 0xfe, 0xf0, 0x0d}));
}

TEST_CASE("INFO/GO data decode") {
    auto data = bytes({0, 0, 0, 2, 'l', 'u', 0, 2, 0, 3, 0, 1});
    auto r = decode_info_request(data);
    REQUIRE(r);
    CHECK(r->name == "lu");
    CHECK(r->info_types == std::vector<std::uint16_t>{kInfoBlockSize, kInfoName});
    SUBCASE("count disagrees with length") {
        data.push_back(0);
        CHECK(decode_info_request(data).error().code == EPROTO);
    }
    SUBCASE("name overruns") {
        data[3] = 9;
        CHECK(decode_info_request(data).error().code == EPROTO);
    }
    SUBCASE("too short") { CHECK(decode_info_request(Bytes(data).first(5)).error().code == EPROTO); }
}

TEST_CASE("option replies") {
    std::vector<std::uint8_t> out;
    append_option_reply(out, kOptGo, kRepAck);
    CHECK(out == bytes({0, 3, 0xe8, 0x89, 0x04, 0x55, 0x65, 0xa9, 0, 0, 0, 7, 0, 0, 0, 1, 0, 0, 0, 0}));
    out.clear();
    append_info_export(out, kOptInfo, 0x40000000ull, 0x0145);
    CHECK(out == bytes({0, 3, 0xe8, 0x89, 0x04, 0x55, 0x65, 0xa9, 0, 0, 0, 6, 0, 0, 0, 3, 0, 0, 0, 12,  //
                        0, 0, 0, 0, 0, 0, 0x40, 0, 0, 0, 0x01, 0x45}));
    out.clear();
    append_info_block_size(out, kOptGo, {512, 4096, 1u << 20});
    CHECK(out == bytes({0, 3, 0xe8, 0x89, 0x04, 0x55, 0x65, 0xa9, 0, 0, 0, 7, 0, 0, 0, 3, 0, 0, 0, 14,  //
                        0, 3, 0, 0, 2, 0, 0, 0, 0x10, 0, 0, 0x10, 0, 0}));
    out.clear();
    append_rep_server(out, kOptList, "d");
    CHECK(out == bytes({0, 3, 0xe8, 0x89, 0x04, 0x55, 0x65, 0xa9, 0, 0, 0, 3, 0, 0, 0, 2, 0, 0, 0, 5,  //
                        0, 0, 0, 1, 'd'}));
    out.clear();
    append_option_error(out, kOptStructuredReply, kRepErrUnsup, "no");
    CHECK(out == bytes({0, 3, 0xe8, 0x89, 0x04, 0x55, 0x65, 0xa9, 0, 0, 0, 8, 0x80, 0, 0, 1, 0, 0, 0, 2, 'n', 'o'}));
}

TEST_CASE("EXPORT_NAME reply: 124 zero bytes unless NO_ZEROES") {
    std::vector<std::uint8_t> out;
    append_export_name_reply(out, 0x200000, 0x0001, true);
    CHECK(out == bytes({0, 0, 0, 0, 0, 0x20, 0, 0, 0, 1}));
    out.clear();
    append_export_name_reply(out, 0x200000, 0x0001, false);
    CHECK(out.size() == 134u);
    CHECK(out[133] == 0);
}

TEST_CASE("errno to NBD error values") {
    CHECK(errno_to_nbd_error(0) == 0u);
    CHECK(errno_to_nbd_error(EPERM) == 1u);
    CHECK(errno_to_nbd_error(EROFS) == 1u);
    CHECK(errno_to_nbd_error(EIO) == 5u);
    CHECK(errno_to_nbd_error(ENOMEM) == 12u);
    CHECK(errno_to_nbd_error(EINVAL) == 22u);
    CHECK(errno_to_nbd_error(ENOSPC) == 28u);
    CHECK(errno_to_nbd_error(EOVERFLOW) == 75u);
    CHECK(errno_to_nbd_error(EOPNOTSUPP) == 95u);
    CHECK(errno_to_nbd_error(ESHUTDOWN) == 108u);
    CHECK(errno_to_nbd_error(ETIMEDOUT) == 5u);  // anything else is EIO
}
