#include <doctest/doctest.h>

#include <string>

#include "control/wire.hpp"

using namespace iser::control;

namespace {

Request round_trip(const Request& in) {
    std::string line = encode_request(in);
    CHECK(line.back() == '\n');
    CHECK(line.find('\n') == line.size() - 1);
    auto out = decode_request(line);
    REQUIRE_MESSAGE(out.ok(), out.error().message);
    CHECK(out->index() == in.index());
    return std::move(out).value();
}

Reply reply_round_trip(const Request& request, const Reply& in) {
    std::string line = encode_reply(in);
    CHECK(line.find('\n') == line.size() - 1);
    auto out = decode_reply(request, line);
    REQUIRE_MESSAGE(out.ok(), out.error().message);
    CHECK(out->index() == in.index());
    return std::move(out).value();
}

std::string request_error(std::string_view line) {
    auto r = decode_request(line);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code != 0);
    return r.error().message;
}

LoginRequest full_login() {
    LoginRequest r;
    r.portal = "[2001:db8::1]:3261";
    r.target = "iqn.2003-01.org.example:disk1";
    r.transport = "tcp";
    r.lun = 7;
    r.frontend = "nbd-server";
    r.nbd_socket = "/run/iser/disk1.sock";
    r.nbd_group = 6;
    r.chap_user = "alice";
    r.chap_secret_file = "/etc/iser/alice.secret";
    r.mutual_user = "target";
    r.mutual_secret_file = "/etc/iser/target.secret";
    r.alternate_portals = {"192.0.2.11:3260", "[2001:db8::2]:3260"};
    r.queues = 4;
    r.depth = 64;
    r.login_timeout_ms = 15000;
    r.nop_interval_ms = 0;
    r.nop_timeout_ms = 5000;
    r.command_timeout_ms = 30000;
    r.replacement_timeout_ms = 120000;
    return r;
}

}  // namespace

TEST_CASE("wire: golden request encodings") {
    CHECK(encode_request(ListRequest{}) == "{\"op\":\"list\"}\n");
    CHECK(encode_request(ShutdownRequest{}) == "{\"op\":\"shutdown\"}\n");
    // keep_devices only when set: a plain shutdown stays what older iserd versions understand.
    CHECK(encode_request(ShutdownRequest{true}) == "{\"op\":\"shutdown\",\"keep_devices\":true}\n");
    CHECK(encode_request(DiscoverRequest{"192.0.2.10:3260", "tcp"}) ==
          "{\"op\":\"discover\",\"portal\":\"192.0.2.10:3260\",\"transport\":\"tcp\"}\n");
    LogoutRequest all;
    all.all = true;
    CHECK(encode_request(all) == "{\"op\":\"logout\",\"all\":true}\n");
    LoginRequest login;
    login.portal = "10.0.0.1:3260";
    login.target = "iqn.2003-01.org.example:d";
    CHECK(encode_request(login) ==
          "{\"op\":\"login\",\"portal\":\"10.0.0.1:3260\",\"target\":\"iqn.2003-01.org.example:d\","
          "\"transport\":\"iser\",\"frontend\":\"ublk\"}\n");
}

TEST_CASE("wire: every request round-trips") {
    auto d = std::get<DiscoverRequest>(round_trip(DiscoverRequest{"[::1]:3260", "iser"}));
    CHECK(d.portal == "[::1]:3260");
    CHECK(d.transport == "iser");

    auto l = std::get<LoginRequest>(round_trip(full_login()));
    LoginRequest want = full_login();
    CHECK(l.portal == want.portal);
    CHECK(l.target == want.target);
    CHECK(l.transport == want.transport);
    CHECK(l.lun == want.lun);
    CHECK(l.frontend == want.frontend);
    CHECK(l.nbd_socket == want.nbd_socket);
    CHECK(l.nbd_group == want.nbd_group);
    CHECK(l.chap_user == want.chap_user);
    CHECK(l.chap_secret_file == want.chap_secret_file);
    CHECK(l.mutual_user == want.mutual_user);
    CHECK(l.mutual_secret_file == want.mutual_secret_file);
    CHECK(l.alternate_portals == want.alternate_portals);
    CHECK(l.queues == want.queues);
    CHECK(l.depth == want.depth);
    CHECK(l.login_timeout_ms == want.login_timeout_ms);
    CHECK(l.nop_interval_ms == std::optional<std::uint32_t>(0));
    CHECK(l.nop_timeout_ms == want.nop_timeout_ms);
    CHECK(l.command_timeout_ms == want.command_timeout_ms);
    CHECK(l.replacement_timeout_ms == want.replacement_timeout_ms);

    LoginRequest minimal;
    minimal.portal = "host";
    minimal.target = "eui.02004567A425678D";
    auto m = std::get<LoginRequest>(round_trip(minimal));
    CHECK_FALSE(m.lun.has_value());
    CHECK_FALSE(m.nbd_group.has_value());
    CHECK(m.alternate_portals.empty());
    CHECK_FALSE(m.queues.has_value());
    CHECK_FALSE(m.replacement_timeout_ms.has_value());
    CHECK(m.frontend == "ublk");
    CHECK(m.transport == "iser");

    LogoutRequest by_target;
    by_target.target = "iqn.2003-01.org.example:disk1";
    CHECK(std::get<LogoutRequest>(round_trip(by_target)).target == by_target.target);
    LogoutRequest by_device;
    by_device.device = "/dev/ublkb3";
    CHECK(std::get<LogoutRequest>(round_trip(by_device)).device == "/dev/ublkb3");
    LogoutRequest all;
    all.all = true;
    CHECK(std::get<LogoutRequest>(round_trip(all)).all);

    round_trip(ListRequest{});
    round_trip(ShutdownRequest{});
    CHECK(std::get<ShutdownRequest>(round_trip(ShutdownRequest{true})).keep_devices);
    CHECK_FALSE(std::get<ShutdownRequest>(round_trip(ShutdownRequest{})).keep_devices);
    CHECK_FALSE(decode_request("{\"op\":\"shutdown\",\"keep_devices\":1}").ok());
    CHECK_FALSE(decode_request("{\"op\":\"list\",\"keep_devices\":true}").ok());
    round_trip(StatsRequest{});
}

TEST_CASE("wire: stats reply round-trips with its histogram") {
    StatsReply s;
    DeviceStats d;
    d.target = "iqn.2003-01.org.example:disk1";
    d.lun = 2;
    d.path = "/dev/ublkb1";
    d.state = "reconnecting";
    d.sessions = 2;
    d.uptime_ms = 12345;
    d.io.record(iser::BlockOp::Read, 4096, 90, 0);
    d.io.record(iser::BlockOp::Write, 65536, 4000, 0);
    d.io.record(iser::BlockOp::Flush, 0, 70000, 5);
    d.reconnects = 2, d.command_timeouts = 1, d.aborts = 1, d.lun_resets = 0, d.retries = 4;
    s.devices.push_back(d);
    auto back = std::get<StatsReply>(reply_round_trip(StatsRequest{}, s));
    REQUIRE(back.devices.size() == 1);
    const auto& b = back.devices[0];
    CHECK(b.target == d.target);
    CHECK(b.lun == 2);
    CHECK(b.path == d.path);
    CHECK(b.state == "reconnecting");
    CHECK(b.sessions == 2);
    CHECK(b.uptime_ms == 12345);
    CHECK(b.io.reads == 1);
    CHECK(b.io.write_bytes == 65536);
    CHECK(b.io.errors == 1);
    CHECK(b.io.latency.counts() == d.io.latency.counts());
    CHECK(b.reconnects == 2);
    CHECK(b.retries == 4);
    CHECK(b.command_timeouts == 1);
    CHECK(decode_reply(Request{StatsRequest{}}, "{\"ok\":true,\"devices\":[{\"target\":\"t\",\"latency_us_histogram\":[[999,1]]}]}")
              .error().message.find("[bucket, count] pairs") != std::string::npos);
}

TEST_CASE("wire: stats reply carries the path, the latency sum and the I/O memory") {
    StatsReply s;
    DeviceStats d;
    d.target = "iqn.2003-01.org.example:disk1";
    d.path = "/dev/ublkb0";
    d.portal = "[2001:db8::1]:3260";
    d.transport = "iser";
    d.io.record(iser::BlockOp::Read, 4096, 90, 0);
    d.io.record(iser::BlockOp::Read, 4096, 110, 0);
    d.io_memory = IoMemoryUse{4096, 4u << 20, 32u << 20};
    s.devices.push_back(d);
    const std::string line = encode_reply(iser::Result<Reply>(Reply{s}));
    CHECK(line.find("\"latency_us_sum\":200") != std::string::npos);
    auto back = std::get<StatsReply>(reply_round_trip(StatsRequest{}, s));
    REQUIRE(back.devices.size() == 1);
    const auto& b = back.devices[0];
    CHECK(b.portal == d.portal);
    CHECK(b.transport == "iser");
    CHECK(b.latency_sum_known);
    CHECK(b.io.latency.sum_micros() == 200);
    REQUIRE(b.io_memory.has_value());
    CHECK(b.io_memory->in_use_bytes == 4096);
    CHECK(b.io_memory->committed_bytes == (4u << 20));
    CHECK(b.io_memory->limit_bytes == (32u << 20));

    // An older iserd's reply has none of them: decoded, and marked as not known.
    auto old = decode_reply(Request{StatsRequest{}},
                            "{\"ok\":true,\"devices\":[{\"target\":\"t\",\"path\":\"/dev/ublkb0\",\"reads\":1,"
                            "\"latency_us_histogram\":[[20,1]]}]}");
    REQUIRE(old.ok());
    const auto& o = std::get<StatsReply>(*old).devices.at(0);
    CHECK(o.portal.empty());
    CHECK_FALSE(o.latency_sum_known);
    CHECK_FALSE(o.io_memory.has_value());
    CHECK(o.io.latency.total() == 1);
    // The new fields are typed like the others.
    CHECK_FALSE(decode_reply(Request{StatsRequest{}},
                             "{\"ok\":true,\"devices\":[{\"target\":\"t\",\"io_memory_limit_bytes\":\"big\"}]}")
                    .ok());
}

TEST_CASE("wire: every reply round-trips") {
    DiscoverReply d;
    d.portals.push_back({"192.0.2.10", 3260, 1, "iqn.2003-01.org.example:disk1"});
    d.portals.push_back({"2001:db8::1", 3261, 2, "iqn.2003-01.org.example:disk2"});
    auto dr = std::get<DiscoverReply>(reply_round_trip(DiscoverRequest{}, d));
    REQUIRE(dr.portals.size() == 2);
    CHECK(dr.portals[1].address == "2001:db8::1");
    CHECK(dr.portals[1].port == 3261);
    CHECK(dr.portals[1].tpgt == 2);
    CHECK(dr.portals[1].target == "iqn.2003-01.org.example:disk2");

    LoginReply l;
    l.attached.push_back({0, "/dev/ublkb0", 10737418240ull, 4096});
    l.attached.push_back({1, "nbd+unix:///lun1?socket=/run/iser/t.sock", 1ull << 40, 512});
    l.skipped.push_back({2, "peripheral device type 0x0c (storage array controller)"});
    auto lr = std::get<LoginReply>(reply_round_trip(LoginRequest{}, l));
    REQUIRE(lr.attached.size() == 2);
    CHECK(lr.attached[0].size_bytes == 10737418240ull);
    CHECK(lr.attached[0].block_size == 4096);
    CHECK(lr.attached[1].path == "nbd+unix:///lun1?socket=/run/iser/t.sock");
    CHECK(lr.attached[1].size_bytes == (1ull << 40));
    REQUIRE(lr.skipped.size() == 1);
    CHECK(lr.skipped[0].lun == 2);
    CHECK(lr.skipped[0].reason == l.skipped[0].reason);

    LogoutReply o;
    o.detached = {"/dev/ublkb0", "/dev/nbd1"};
    CHECK(std::get<LogoutReply>(reply_round_trip(LogoutRequest{}, o)).detached == o.detached);

    ListReply s;
    SessionInfo info;
    info.target = "iqn.2003-01.org.example:disk1";
    info.portal = "192.0.2.10:3260";
    info.transport = "iser";
    info.state = "logged-in";
    info.tsih = 0x1234;
    info.isid = "400001370000";
    info.negotiated = {{"MaxRecvDataSegmentLength", "262144"}, {"HeaderDigest", "None"}, {"ErrorRecoveryLevel", "0"}};
    info.luns.push_back({0, "/dev/ublkb0", 1 << 20, 512});
    info.frontend = "ublk";
    s.sessions.push_back(info);
    auto sr = std::get<ListReply>(reply_round_trip(ListRequest{}, s));
    REQUIRE(sr.sessions.size() == 1);
    const auto& got = sr.sessions[0];
    CHECK(got.target == info.target);
    CHECK(got.portal == info.portal);
    CHECK(got.transport == "iser");
    CHECK(got.state == "logged-in");
    CHECK(got.tsih == 0x1234);
    CHECK(got.isid == "400001370000");
    CHECK(got.negotiated == info.negotiated);  // order kept
    REQUIRE(got.luns.size() == 1);
    CHECK(got.luns[0].path == "/dev/ublkb0");
    CHECK(got.frontend == "ublk");
    CHECK(got.detail.empty());
    CHECK_FALSE(got.login.has_value());  // an older iserd sends none

    // A reconnecting session carries its detail and the settings it was logged in with.
    info.state = "reconnecting";
    info.detail = "1 of 2 sessions reconnecting for 12 s; I/O held, fails with EIO in 108 s";
    LoginRequest settings;
    settings.portal = "192.0.2.10:3260";
    settings.target = info.target;
    settings.alternate_portals = {"192.0.2.11:3260"};
    settings.chap_user = "alice";
    settings.chap_secret_file = "/etc/iser/alice.secret";
    settings.replacement_timeout_ms = 30000;
    info.login = settings;
    ListReply s2;
    s2.sessions.push_back(info);
    auto sr2 = std::get<ListReply>(reply_round_trip(ListRequest{}, s2));
    REQUIRE(sr2.sessions.size() == 1);
    CHECK(sr2.sessions[0].detail == info.detail);
    REQUIRE(sr2.sessions[0].login.has_value());
    CHECK(sr2.sessions[0].login->alternate_portals == settings.alternate_portals);
    CHECK(sr2.sessions[0].login->chap_secret_file == "/etc/iser/alice.secret");
    CHECK(sr2.sessions[0].login->replacement_timeout_ms == 30000u);
    CHECK_FALSE(sr2.sessions[0].login->command_timeout_ms.has_value());

    reply_round_trip(ShutdownRequest{}, ShutdownReply{});
}

TEST_CASE("wire: errors travel as ok:false with errno") {
    iser::Result<Reply> failed = iser::make_error(ECONNREFUSED, "cannot reach 10.0.0.1:3260: connection refused");
    std::string line = encode_reply(failed);
    CHECK(line == "{\"ok\":false,\"error\":\"cannot reach 10.0.0.1:3260: connection refused\",\"errno\":111}\n");
    auto back = decode_reply(LoginRequest{}, line);
    REQUIRE_FALSE(back.ok());
    CHECK(back.error().code == ECONNREFUSED);
    CHECK(back.error().message == "cannot reach 10.0.0.1:3260: connection refused");

    // A multi-line message is flattened to one line.
    iser::Result<Reply> multi = iser::make_error(EIO, "first\nsecond");
    auto flat = decode_reply(ListRequest{}, encode_reply(multi));
    REQUIRE_FALSE(flat.ok());
    CHECK(flat.error().message == "first second");

    CHECK(encode_reply(Reply{ShutdownReply{}}) == "{\"ok\":true}\n");
}

TEST_CASE("wire: malformed requests are refused") {
    CHECK(request_error("").find("malformed request") != std::string::npos);
    CHECK(request_error("{").find("malformed request") != std::string::npos);
    CHECK(request_error("[1,2]").find("not a JSON object") != std::string::npos);
    CHECK(request_error("\"list\"").find("not a JSON object") != std::string::npos);
    CHECK(request_error("{}").find("no \"op\"") != std::string::npos);
    CHECK(request_error("{\"op\":3}").find("no \"op\"") != std::string::npos);
    CHECK(request_error("{\"op\":\"format\"}").find("unknown op 'format'") != std::string::npos);
    CHECK(request_error("{\"op\":\"list\",\"x\":1}").find("unknown field 'x'") != std::string::npos);
    CHECK(request_error("{\"op\":\"list\"}\n{\"op\":\"list\"}").find("more than one line") != std::string::npos);
    CHECK(request_error("{\"op\":\"discover\"}").find("missing field 'portal'") != std::string::npos);
    CHECK(request_error("{\"op\":\"discover\",\"portal\":1}").find("'portal' must be a string") != std::string::npos);
    CHECK(request_error("{\"op\":\"discover\",\"portal\":\"::1\"}").find("brackets") != std::string::npos);
    CHECK(request_error("{\"op\":\"discover\",\"portal\":\"h\",\"transport\":\"fc\"}").find("transport 'fc'") !=
          std::string::npos);
    const std::string login = "{\"op\":\"login\",\"portal\":\"h\",\"target\":\"iqn.2003-01.org.example:d\"";
    CHECK(decode_request(login + "}").ok());
    CHECK(request_error(login + ",\"lun\":-1}").find("'lun' must be an integer") != std::string::npos);
    CHECK(request_error(login + ",\"lun\":4294967296}").find("'lun' must be an integer") != std::string::npos);
    CHECK(request_error(login + ",\"lun\":1.5}").find("'lun' must be an integer") != std::string::npos);
    CHECK(request_error(login + ",\"lun\":\"1\"}").find("'lun' must be an integer") != std::string::npos);
    CHECK(request_error(login + ",\"frontend\":\"iscsi\"}").find("frontend 'iscsi'") != std::string::npos);
    CHECK(request_error(login + ",\"nbd_socket\":\"/s\"}").find("need frontend nbd-server") != std::string::npos);
    CHECK(request_error(login + ",\"chap_user\":\"u\"}").find("go together") != std::string::npos);
    CHECK(request_error(login + ",\"chap_user\":\"u\\u0000x\"}").find("NUL") != std::string::npos);
    CHECK(request_error(login + ",\"mutual_user\":\"m\",\"mutual_secret_file\":\"/f\"}").find("needs chap_user") !=
          std::string::npos);
    CHECK(request_error("{\"op\":\"login\",\"portal\":\"h\",\"target\":\"disk1\"}").find("invalid iSCSI name") !=
          std::string::npos);
    CHECK(request_error(login + ",\"queues\":0}").find("'queues' must be 1 to 16") != std::string::npos);
    CHECK(request_error(login + ",\"depth\":4096}").find("'depth' must be 1 to 1024") != std::string::npos);
    CHECK(request_error(login + ",\"alternate_portals\":\"h2\"}").find("must be an array") != std::string::npos);
    CHECK(request_error(login + ",\"alternate_portals\":[\"::1\"]}").find("brackets") != std::string::npos);
    CHECK(request_error(login + ",\"login_timeout_ms\":0}").find("must not be 0") != std::string::npos);
    CHECK(request_error("{\"op\":\"logout\"}").find("exactly one") != std::string::npos);
    CHECK(request_error("{\"op\":\"logout\",\"all\":true,\"device\":\"/dev/x\"}").find("exactly one") !=
          std::string::npos);
    CHECK(request_error("{\"op\":\"logout\",\"all\":1}").find("true or false") != std::string::npos);
}

TEST_CASE("wire: over-long request lines are refused") {
    std::string pad(kMaxRequestBytes, ' ');
    auto r = decode_request("{\"op\":\"list\"}" + pad);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == EMSGSIZE);
    // Exactly at the limit is still parsed (whitespace is valid JSON padding).
    std::string at_limit = "{\"op\":\"list\"}";
    at_limit += std::string(kMaxRequestBytes - at_limit.size(), ' ');
    CHECK(decode_request(at_limit + "\n").ok());
}

TEST_CASE("wire: malformed replies are refused") {
    auto bad = [](const Request& req, std::string_view line) {
        auto r = decode_reply(req, line);
        REQUIRE_FALSE(r.ok());
        return r.error().message;
    };
    CHECK(bad(ListRequest{}, "").find("malformed reply") != std::string::npos);
    CHECK(bad(ListRequest{}, "{}").find("\"ok\"") != std::string::npos);
    CHECK(bad(ListRequest{}, "{\"ok\":true,\"sessions\":{}}").find("'sessions' must be an array") != std::string::npos);
    CHECK(bad(ListRequest{}, "{\"ok\":true,\"sessions\":[1]}").find("must hold objects") != std::string::npos);
    CHECK(bad(DiscoverRequest{}, "{\"ok\":true,\"portals\":[{\"address\":\"a\"}]}").find("'target'") !=
          std::string::npos);
    CHECK(bad(LoginRequest{}, "{\"ok\":true,\"attached\":[{\"lun\":0,\"path\":\"/dev/x\",\"block_size\":-1}]}")
              .find("block_size") != std::string::npos);
    // An error reply without errno is EIO.
    auto e = decode_reply(ListRequest{}, "{\"ok\":false,\"error\":\"boom\"}");
    REQUIRE_FALSE(e.ok());
    CHECK(e.error().code == EIO);
    CHECK(e.error().message == "boom");
    // Unknown reply fields are tolerated (newer iserd, older iserctl).
    CHECK(decode_reply(ShutdownRequest{}, "{\"ok\":true,\"extra\":1}").ok());
}

TEST_CASE("wire: --json document drops ok") {
    ListReply empty;
    CHECK(reply_to_json_document(Reply{empty}) == "{\n  \"sessions\": []\n}\n");
}
