// iserctl rescan on the wire and on the terminal: the request/reply encoding (golden JSON and
// round trips), the refusals, the size formatting and the one line per device.
#include <doctest/doctest.h>

#include <string>

#include "control/rescan_text.hpp"
#include "control/wire.hpp"

using namespace iser::control;

namespace {

RescannedDevice device(std::string result, std::uint64_t old_bytes, std::uint64_t now, std::uint64_t lun) {
    RescannedDevice d;
    d.target = "iqn.2003-01.org.example:disk1";
    d.lun = 0;
    d.path = "/dev/nbd0";
    d.old_bytes = old_bytes;
    d.device_bytes = now;
    d.lun_bytes = lun;
    d.result = std::move(result);
    return d;
}

}  // namespace

TEST_CASE("rescan request: golden encodings") {
    RescanRequest by_device;
    by_device.device = "/dev/nbd0";
    CHECK(encode_request(by_device) == "{\"op\":\"rescan\",\"device\":\"/dev/nbd0\"}\n");
    RescanRequest by_target;
    by_target.target = "iqn.2003-01.org.example:disk1";
    CHECK(encode_request(by_target) == "{\"op\":\"rescan\",\"target\":\"iqn.2003-01.org.example:disk1\"}\n");
    RescanRequest all;
    all.all = true;
    CHECK(encode_request(all) == "{\"op\":\"rescan\",\"all\":true}\n");
    CHECK(std::string(op_name(Request{all})) == "rescan");
}

TEST_CASE("rescan request: decodes, and needs exactly one selector") {
    auto r = decode_request("{\"op\":\"rescan\",\"device\":\"/dev/ublkb3\"}");
    REQUIRE(r);
    REQUIRE(std::holds_alternative<RescanRequest>(*r));
    CHECK(std::get<RescanRequest>(*r).device == "/dev/ublkb3");
    CHECK_FALSE(decode_request("{\"op\":\"rescan\"}"));
    CHECK_FALSE(decode_request("{\"op\":\"rescan\",\"all\":true,\"device\":\"/dev/nbd0\"}"));
    CHECK_FALSE(decode_request("{\"op\":\"rescan\",\"target\":\"not an iqn\"}"));
    CHECK_FALSE(decode_request("{\"op\":\"rescan\",\"all\":true,\"force\":true}"));  // unknown field
    CHECK_FALSE(decode_request("{\"op\":\"rescan\",\"all\":1}"));
}

TEST_CASE("rescan reply: golden encoding and round trip") {
    RescanReply reply;
    reply.devices.push_back(device("resized", 64 << 20, 96 << 20, 96 << 20));
    auto cannot = device("not-resizable", 64 << 20, 64 << 20, 96 << 20);
    cannot.path = "/dev/ublkb0";
    cannot.error = "keeps 64 MiB";
    reply.devices.push_back(cannot);
    const std::string line = encode_reply(Reply{reply});
    CHECK(line ==
          "{\"ok\":true,\"devices\":[{\"target\":\"iqn.2003-01.org.example:disk1\",\"lun\":0,\"path\":\"/dev/nbd0\","
          "\"old_bytes\":67108864,\"device_bytes\":100663296,\"lun_bytes\":100663296,\"result\":\"resized\"},"
          "{\"target\":\"iqn.2003-01.org.example:disk1\",\"lun\":0,\"path\":\"/dev/ublkb0\",\"old_bytes\":67108864,"
          "\"device_bytes\":67108864,\"lun_bytes\":100663296,\"result\":\"not-resizable\",\"error\":\"keeps 64 "
          "MiB\"}]}\n");
    auto back = decode_reply(RescanRequest{}, line);
    REQUIRE(back);
    const auto& got = std::get<RescanReply>(*back);
    REQUIRE(got.devices.size() == 2);
    CHECK(got.devices[0].device_bytes == 96u << 20);
    CHECK(got.devices[1].result == "not-resizable");
    CHECK(got.devices[1].error == "keeps 64 MiB");
    CHECK_FALSE(decode_reply(RescanRequest{}, "{\"ok\":true,\"devices\":[{\"path\":\"/dev/nbd0\"}]}"));  // no target
}

TEST_CASE("format_size: exact binary units, else one decimal") {
    CHECK(format_size(0) == "0 B");
    CHECK(format_size(512) == "512 B");
    CHECK(format_size(1000) == "1000 B");
    CHECK(format_size(1024) == "1 KiB");
    CHECK(format_size(1536) == "1.5 KiB");
    CHECK(format_size(64ull << 20) == "64 MiB");
    CHECK(format_size(96ull << 20) == "96 MiB");
    CHECK(format_size(1536ull << 20) == "1.5 GiB");  // 1024 or more of a unit: the next one up
    CHECK(format_size((64ull << 20) + 4096) == "64.0 MiB");
    CHECK(format_size(2ull << 40) == "2 TiB");
}

TEST_CASE("rescan_line: one line per device") {
    CHECK(rescan_line(device("resized", 64 << 20, 96 << 20, 96 << 20)) == "/dev/nbd0: 64 MiB -> 96 MiB");
    auto same = device("unchanged", 64 << 20, 64 << 20, 64 << 20);
    same.path = "/dev/ublkb0";
    CHECK(rescan_line(same) == "/dev/ublkb0: unchanged (64 MiB)");
    auto failed = device("failed", 64 << 20, 64 << 20, 0);
    failed.error = "reading the capacity: the session is not logged in (reconnecting?)";
    CHECK(rescan_line(failed) == "/dev/nbd0: reading the capacity: the session is not logged in (reconnecting?)");
    CHECK(rescan_succeeded(same));
    CHECK_FALSE(rescan_succeeded(failed));
    CHECK_FALSE(rescan_succeeded(device("not-resizable", 1, 1, 2)));
}
