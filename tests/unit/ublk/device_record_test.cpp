// The per-device record a restarted daemon reads to re-attach /dev/ublkbN to its LUN:
// golden JSON text, decoding what a person or a newer writer may produce, bad input refused,
// and the files (atomic write, read back, list, remove) in a scratch folder.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include "ublk/device_query.hpp"
#include "ublk/device_record.hpp"

using namespace iser::ublk;

namespace {

DeviceRecord sample() {
    DeviceRecord r;
    r.dev_id = 3;
    r.cookie = 0x9f2c6a0e5d4b1a77ull;
    r.size_bytes = 1073741824;
    r.logical_block_size = 512;
    r.queues = 2;
    r.depth = 128;
    r.pid = 1234;
    r.identity = {{"target", "iqn.2024-01.lab.iser:t1"}, {"portal", "10.77.0.1:3260"}, {"lun", "1"}};
    return r;
}

const char* kGolden =
    R"({"dev_id":3,"cookie":"9f2c6a0e5d4b1a77","size_bytes":1073741824,"logical_block_size":512,)"
    R"("queues":2,"depth":128,"pid":1234,"identity":{"lun":"1","portal":"10.77.0.1:3260",)"
    R"("target":"iqn.2024-01.lab.iser:t1"}})";

struct ScratchDir {
    std::string path;
    ScratchDir() {
        char t[] = "/tmp/ublk-record-test.XXXXXX";
        path = ::mkdtemp(t);
    }
    ~ScratchDir() { (void)std::system(("rm -rf '" + path + "'").c_str()); }
};

}  // namespace

TEST_CASE("record: golden encoding, and it decodes back to the same record") {
    CHECK(encode_record(sample()) == kGolden);
    auto back = decode_record(kGolden);
    REQUIRE(back);
    CHECK(*back == sample());
}

TEST_CASE("record: strings are escaped and come back unchanged") {
    auto r = sample();
    r.identity = {{"note", "a \"quoted\" \\ path\n\t\x01"}};
    std::string text = encode_record(r);
    CHECK(text.find(R"("note":"a \"quoted\" \\ path\n\t\u0001")") != std::string::npos);
    auto back = decode_record(text);
    REQUIRE(back);
    CHECK(back->identity.at("note") == "a \"quoted\" \\ path\n\t\x01");
}

TEST_CASE("record: any key order, whitespace, unknown keys, a short cookie") {
    auto r = decode_record(R"(
      { "identity" : { "target" : "iqn.x" , "lun":"0" },
        "future_string": "ignored", "future_number": 42,
        "cookie": "1f", "dev_id": 0 }
    )");
    REQUIRE(r);
    CHECK(r->dev_id == 0);
    CHECK(r->cookie == 0x1f);
    CHECK(r->identity.size() == 2);
    CHECK(r->identity.at("target") == "iqn.x");
    CHECK(r->queues == 0);
}

TEST_CASE("record: bad input gets one clear error") {
    auto message = [](const char* text) {
        auto r = decode_record(text);
        REQUIRE(!r);
        CHECK(r.error().code == EINVAL);
        return r.error().message;
    };
    CHECK(message("") == "device record: expected '{' at byte 0");
    CHECK(message(R"({"cookie":"1"})") == "device record: no \"dev_id\"");
    CHECK(message(R"({"dev_id":1})") == "device record: no \"cookie\"");
    CHECK(message(R"({"dev_id":1,"cookie":"0"})") == "device record: no \"cookie\"");
    CHECK(message(R"({"dev_id":-1,"cookie":"1"})") == "device record: \"dev_id\" out of range at byte 12");
    CHECK(message(R"({"dev_id":1,"cookie":"xyz"})") == "device record: \"cookie\" is not 1..16 hex digits at byte 26");
    CHECK(message(R"({"dev_id":1,"cookie":"12345678901234567"})").find("not 1..16 hex digits") != std::string::npos);
    CHECK(message(R"({"dev_id":1,"cookie":"1"} x)") == "device record: trailing data at byte 26");
    CHECK(message(R"({"dev_id":1,"cookie":"1)") == "device record: unterminated string at byte 23");
    CHECK(message(R"({"dev_id":1,"identity":[]})") == "device record: \"identity\" is not an object at byte 23");
    CHECK(message(R"({"dev_id":true})") == "device record: expected an integer at byte 10");
}

TEST_CASE("record files: write, read, list, remove") {
    ScratchDir dir;
    const std::string where = dir.path + "/run/iser/ublk";  // created on demand
    auto a = sample();
    auto b = sample();
    b.dev_id = 11;
    b.cookie = 7;
    REQUIRE(write_record(where, b));
    REQUIRE(write_record(where, a));
    auto back = read_record(where, 3);
    REQUIRE(back);
    CHECK(*back == a);
    CHECK(::access((where + "/3.json.tmp").c_str(), F_OK) != 0);  // renamed into place

    auto all = list_records(where);
    REQUIRE(all.size() == 2);
    CHECK(all[0].dev_id == 3);
    CHECK(all[1].dev_id == 11);

    auto missing = read_record(where, 5);
    REQUIRE(!missing);
    CHECK(missing.error().code == ENOENT);
    CHECK(missing.error().message == "no record for ublk device 5 in " + where);

    // a record stored under the wrong number is refused
    REQUIRE(::rename((where + "/11.json").c_str(), (where + "/12.json").c_str()) == 0);
    auto wrong = read_record(where, 12);
    REQUIRE(!wrong);
    CHECK(wrong.error().message == where + "/12.json: names ublk device 11, not 12");
    CHECK(list_records(where).size() == 1);

    CHECK(remove_record(where, 3));
    CHECK(remove_record(where, 3));  // already gone: fine
    CHECK(!read_record(where, 3));
    CHECK(list_records(dir.path + "/nowhere").empty());
}

TEST_CASE("cookies are non-zero and differ") {
    auto a = new_device_cookie();
    auto b = new_device_cookie();
    CHECK(a != 0);
    CHECK(a != b);
}

TEST_CASE("device numbers from a ublk-char class folder, ascending; other entries ignored") {
    ScratchDir dir;
    for (const char* name : {"ublkc10", "ublkc3", "ublkc0", "ublkb4", "ublkc07", "power"})
        REQUIRE(::mkdir((dir.path + "/" + name).c_str(), 0755) == 0);
    CHECK(list_device_ids(dir.path) == std::vector<int>{0, 3, 10});
    CHECK(list_device_ids(dir.path + "/absent").empty());
}
