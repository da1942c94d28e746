// Runs the real iserctl binary against a ControlServer with a fake Handler and checks the
// output contract users' scripts rely on (stdout lines, stderr lines, exit statuses).
#include <doctest/doctest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "control/server.hpp"
#include "iser/version.hpp"

using namespace iser;
using namespace iser::control;

namespace {

class FakeIserd : public Handler {
public:
    Result<DiscoverReply> discover(const DiscoverRequest& r) override {
        last_discover = r;
        DiscoverReply reply;
        reply.portals.push_back({"192.0.2.10", 3260, 1, "iqn.2003-01.org.example:disk1"});
        reply.portals.push_back({"2001:db8::10", 3261, 2, "iqn.2003-01.org.example:disk1"});
        return reply;
    }
    Result<LoginReply> login(const LoginRequest& r) override {
        last_login = r;
        if (r.target == "iqn.2003-01.org.example:refused")
            return make_error(ECONNREFUSED, "cannot reach 192.0.2.10:3260: connection refused");
        LoginReply reply;
        if (r.frontend == "nbd-server") {
            reply.attached.push_back({0, "nbd+unix:///lun0?socket=" + r.nbd_socket, 1 << 20, 512});
        } else {
            reply.attached.push_back({0, "/dev/ublkb0", 1 << 20, 512});
            reply.attached.push_back({1, "/dev/ublkb1", 1 << 20, 512});
        }
        reply.skipped.push_back({2, "peripheral device type 0x0c"});
        return reply;
    }
    Result<LogoutReply> logout(const LogoutRequest& r) override {
        last_logout = r;
        return LogoutReply{};
    }
    Result<StatsReply> stats() override {
        StatsReply reply;
        DeviceStats d;
        d.target = "iqn.2003-01.org.example:disk1";
        d.path = "/dev/ublkb0";
        d.state = "logged-in";
        d.sessions = 2;
        d.uptime_ms = 2000;
        for (int i = 0; i < 100; ++i) d.io.record(BlockOp::Read, 4096, 100, 0);
        for (int i = 0; i < 50; ++i) d.io.record(BlockOp::Write, 8192, 1000, 0);
        d.reconnects = 1;
        d.retries = 3;
        reply.devices.push_back(d);
        return reply;
    }
    Result<ListReply> list() override {
        ListReply reply;
        SessionInfo s;
        s.target = "iqn.2003-01.org.example:disk1";
        s.portal = "192.0.2.10:3260";
        s.transport = "iser";
        s.state = "logged-in";
        if (reconnecting_lists > 0) {
            --reconnecting_lists;
            s.state = "reconnecting";
            s.detail = "1 of 2 sessions reconnecting for 3 s; I/O held, fails with EIO in 117 s";
        }
        s.frontend = "ublk";
        s.tsih = 7;
        s.isid = "400001370000";
        s.negotiated = {{"HeaderDigest", "None"}};
        s.luns.push_back({0, "/dev/ublkb0", 10ull << 30, 512});
        reply.sessions.push_back(s);
        return reply;
    }
    Status shutdown(bool keep_devices) override {
        shutdowns.push_back(keep_devices);
        return {};
    }
    Result<RescanReply> rescan(const RescanRequest& r) override {
        last_rescan = r;
        if (r.device == "/dev/missing") return make_error(ENOENT, "no attached device /dev/missing");
        RescanReply reply;
        RescannedDevice grown{"iqn.2003-01.org.example:disk1", "/dev/nbd0", 0, 64u << 20, 96u << 20, 96u << 20,
                              "resized", ""};
        reply.devices.push_back(grown);
        if (r.all) {
            RescannedDevice same{"iqn.2003-01.org.example:disk1", "/dev/ublkb1", 1, 64u << 20, 64u << 20, 64u << 20,
                                 "unchanged", ""};
            RescannedDevice stuck{"iqn.2003-01.org.example:disk1", "/dev/ublkb2", 2, 64u << 20, 64u << 20, 96u << 20,
                                  "not-resizable", "LUN is now 96 MiB but this kernel's ublk cannot resize a live device"};
            reply.devices.push_back(same);
            reply.devices.push_back(stuck);
        }
        return reply;
    }

    std::atomic<int> reconnecting_lists{0};  // list() says "reconnecting" this many times
    DiscoverRequest last_discover;
    RescanRequest last_rescan;
    LoginRequest last_login;
    LogoutRequest last_logout;
    std::vector<bool> shutdowns;  // keep_devices of each shutdown request
};

struct Run {
    int status = -1;
    std::string out, err;
};

// Runs iserctl with `args` (a shell-quoted string); stdout and stderr captured separately.
Run iserctl(const std::string& socket, const std::string& args, const std::string& tmp) {
    std::string err_file = tmp + "/stderr";
    std::string cmd = "ISERD_SOCKET=" + socket + " " + ISERCTL_PATH + " " + args + " 2>" + err_file;
    Run run;
    FILE* p = ::popen(cmd.c_str(), "r");
    REQUIRE(p);
    std::array<char, 4096> buf;
    std::size_t n;
    while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) run.out.append(buf.data(), n);
    int status = ::pclose(p);
    run.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    std::ifstream in(err_file);
    run.err.assign(std::istreambuf_iterator<char>(in), {});
    return run;
}

struct Fixture {
    Fixture() {
        char tmpl[] = "/tmp/iserctl-cli-test.XXXXXX";
        REQUIRE(::mkdtemp(tmpl));
        dir = tmpl;
        socket = dir + "/iserd.sock";
        auto created = ControlServer::create(socket, handler, log);
        REQUIRE(created.ok());
        server = std::move(created).value();
        thread = std::thread([this] { server->run(); });
    }
    ~Fixture() {
        server->stop();
        thread.join();
        std::filesystem::remove_all(dir);
    }
    Run run(const std::string& args) { return iserctl(socket, args, dir); }

    Logger log{LogLevel::Error};
    FakeIserd handler;
    std::string dir, socket;
    std::unique_ptr<ControlServer> server;
    std::thread thread;
};

}  // namespace

TEST_CASE("iserctl: contract against a fake iserd") {
    if (::geteuid() != 0) {
        MESSAGE("SKIP: iserctl must run as root");
        return;
    }
    Fixture f;

    SUBCASE("discover prints IP:PORT,TPGT IQN") {
        Run r = f.run("discover 192.0.2.10 --transport tcp");
        CHECK(r.status == 0);
        CHECK(r.out == "192.0.2.10:3260,1 iqn.2003-01.org.example:disk1\n"
                       "[2001:db8::10]:3261,2 iqn.2003-01.org.example:disk1\n");
        CHECK(r.err.empty());
        CHECK(f.handler.last_discover.portal == "192.0.2.10:3260");
        CHECK(f.handler.last_discover.transport == "tcp");
        Run j = f.run("discover '[::1]:3262' --json");
        CHECK(j.status == 0);
        CHECK(j.out.rfind("{\n  \"portals\": [", 0) == 0);
        CHECK(f.handler.last_discover.portal == "[::1]:3262");
        CHECK(f.handler.last_discover.transport == "iser");
    }
    SUBCASE("login prints devices on stdout, skipped LUNs on stderr") {
        Run r = f.run("login --portal 192.0.2.10 --target iqn.2003-01.org.example:disk1 --lun 3");
        CHECK(r.status == 0);
        CHECK(r.out == "/dev/ublkb0\n/dev/ublkb1\n");
        CHECK(r.err == "skipped LUN 2: peripheral device type 0x0c\n");
        CHECK(f.handler.last_login.transport == "iser");
        CHECK(f.handler.last_login.frontend == "ublk");
        CHECK(f.handler.last_login.lun == std::optional<std::uint32_t>(3));
    }
    SUBCASE("login nbd-server prints the URI and sends absolute paths") {
        Run r = f.run("login --portal 192.0.2.10 --target iqn.2003-01.org.example:disk1 --frontend nbd-server "
                      "--nbd-socket " + f.dir + "/./d.sock");
        CHECK(r.status == 0);
        CHECK(r.out == "nbd+unix:///lun0?socket=" + f.dir + "/d.sock\n");
    }
    SUBCASE("CHAP secrets travel as checked absolute paths") {
        std::string secret = f.dir + "/secret";
        std::ofstream(secret) << "0123456789ab\n";
        REQUIRE(::chmod(secret.c_str(), 0644) == 0);
        std::string args = "login --portal h --target iqn.2003-01.org.example:disk1 --chap-user u --chap-secret-file " + secret;
        Run open = f.run(args);
        CHECK(open.status == 1);
        CHECK(open.out.empty());
        CHECK(open.err == "iserctl: --chap-secret-file " + secret + " is accessible by group or others (mode 0644); run 'chmod 600 " +
                              secret + "'\n");
        REQUIRE(::chmod(secret.c_str(), 0600) == 0);
        Run ok = f.run(args);
        CHECK(ok.status == 0);
        CHECK(f.handler.last_login.chap_secret_file == secret);
        CHECK(f.handler.last_login.chap_user == "u");
        Run missing = f.run("login --portal h --target iqn.2003-01.org.example:disk1 --chap-user u --chap-secret-file /nonexistent/s");
        CHECK(missing.status == 1);
        CHECK(missing.err == "iserctl: --chap-secret-file /nonexistent/s: No such file or directory\n");
    }
    SUBCASE("login and logout --json") {
        Run r = f.run("login --portal 192.0.2.10 --target iqn.2003-01.org.example:disk1 --json");
        CHECK(r.status == 0);
        auto doc = nlohmann::json::parse(r.out);
        CHECK(doc["attached"][1]["path"] == "/dev/ublkb1");
        CHECK(doc["skipped"][0]["lun"] == 2);
        Run out = f.run("logout --all --json");
        CHECK(out.status == 0);
        CHECK(nlohmann::json::parse(out.out).contains("detached"));
    }
    SUBCASE("stats since attach: rates over the uptime and latency percentiles") {
        Run r = f.run("stats --interval 0 --json");
        CHECK(r.status == 0);
        auto doc = nlohmann::json::parse(r.out);
        const auto& d = doc["devices"][0];
        CHECK(d["path"] == "/dev/ublkb0");
        CHECK(d["read_iops"].get<double>() == doctest::Approx(50.0));   // 100 reads in 2 s
        CHECK(d["write_iops"].get<double>() == doctest::Approx(25.0));
        CHECK(d["write_mb_s"].get<double>() == doctest::Approx(50 * 8192 / 2.0 / 1e6));
        CHECK(d["latency_us"]["p50"] == 103);    // bucket [96, 104)
        CHECK(d["latency_us"]["p99"] == 1023);   // bucket [960, 1024)
        CHECK(d["reconnects"] == 1);
        CHECK(d["retries"] == 3);
        Run table = f.run("stats --interval 0");
        CHECK(table.status == 0);
        CHECK(table.out.find("/dev/ublkb0") != std::string::npos);
        CHECK(table.out.rfind("DEVICE", 0) == 0);
        Run interval = f.run("stats --interval 10ms --json /dev/ublkb0");  // fixed counters: no I/O in between
        CHECK(interval.status == 0);
        CHECK(nlohmann::json::parse(interval.out)["devices"][0]["read_iops"] == 0.0);
        Run unknown = f.run("stats --interval 0 /dev/ublkb9");
        CHECK(unknown.status == 1);
        CHECK(unknown.err == "iserctl: no attached device /dev/ublkb9 (see 'iserctl list')\n");
        Run bad = f.run("stats --interval soon");
        CHECK(bad.status == 2);
    }
    SUBCASE("stats --format: json is --json, prometheus one snapshot, anything else a usage error") {
        Run json = f.run("stats --interval 0 --json");
        Run format_json = f.run("stats --interval 0 --format json");
        CHECK(format_json.status == 0);
        CHECK(nlohmann::json::parse(format_json.out)["devices"][0]["totals"] ==
              nlohmann::json::parse(json.out)["devices"][0]["totals"]);
        Run prom = f.run("stats --format prometheus");
        CHECK(prom.status == 0);
        CHECK(prom.err.empty());
        CHECK(prom.out.find("iser_up 1\n") != std::string::npos);
        CHECK(prom.out.find("iser_reads_total{device=\"/dev/ublkb0\",target=\"iqn.2003-01.org.example:disk1\","
                            "lun=\"0\"} 100\n") != std::string::npos);
        CHECK(prom.out.find(",le=\"+Inf\"} 150\n") != std::string::npos);
        CHECK(prom.out.find("iser_io_latency_seconds_sum{device=\"/dev/ublkb0\",target=\"iqn.2003-01.org.example:"
                            "disk1\",lun=\"0\"} 0.060000\n") != std::string::npos);  // 100 x 100 µs + 50 x 1000 µs
        for (const char* args : {"stats --format prometheus --interval 5s", "stats --format prometheus --count 2",
                                 "stats --format xml", "stats --json --format text", "stats --output /tmp/x"}) {
            CAPTURE(args);
            Run r = f.run(args);
            CHECK(r.status == 2);
            CHECK(r.out.empty());
            CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
        }
        Run file = f.run("stats --format prometheus --output " + f.dir + "/iser.prom");
        CHECK(file.status == 0);
        CHECK(file.out.empty());
        std::ifstream in(f.dir + "/iser.prom");
        std::string written((std::istreambuf_iterator<char>(in)), {});
        CHECK(written == prom.out);
    }
    SUBCASE("daemon errors are one line and exit 1") {
        Run r = f.run("login --portal 192.0.2.10 --target iqn.2003-01.org.example:refused");
        CHECK(r.status == 1);
        CHECK(r.out.empty());
        CHECK(r.err == "iserctl: cannot reach 192.0.2.10:3260: connection refused\n");
    }
    SUBCASE("usage errors exit 2 with one line") {
        for (const char* args : {"login --portal '[::1' --target iqn.2003-01.org.example:d",
                                 "login --portal h --target disk1", "login --portal h:0 --target iqn.2003-01.org.example:d",
                                 "login --target iqn.2003-01.org.example:d", "login --portal h --target iqn.2003-01.org.example:d --lun x",
                                 "login --portal h --target iqn.2003-01.org.example:d --frontend iscsi",
                                 "login --portal h --target iqn.2003-01.org.example:d --nbd-socket /s",
                                 "login --portal h --target iqn.2003-01.org.example:d --chap-user u",
                                 "logout", "logout --all --target iqn.2003-01.org.example:d", "discover",
                                 "discover h --transport fc", "frobnicate", "", "login --no-such-flag"}) {
            CAPTURE(args);
            Run r = f.run(args);
            CHECK(r.status == 2);
            CHECK(r.out.empty());
            CHECK(r.err.rfind("iserctl: ", 0) == 0);
            CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
        }
    }
    SUBCASE("logout forwards exactly one selector") {
        CHECK(f.run("logout --device /dev/ublkb0").status == 0);
        CHECK(f.handler.last_logout.device == "/dev/ublkb0");
        CHECK(f.run("logout --all").status == 0);
        CHECK(f.handler.last_logout.all);
    }
    SUBCASE("list: human blocks, verbose parameters, JSON") {
        Run r = f.run("list");
        CHECK(r.status == 0);
        CHECK(r.out == "target:    iqn.2003-01.org.example:disk1\n"
                       "portal:    192.0.2.10:3260\n"
                       "transport: iser\n"
                       "state:     logged-in\n"
                       "frontend:  ublk\n"
                       "luns:\n"
                       "  LUN 0  /dev/ublkb0  10.0 GiB  512-byte blocks\n");
        Run v = f.run("list -v");
        CHECK(v.out.find("negotiated:\n  HeaderDigest=None\n") != std::string::npos);
        CHECK(v.out.find("isid:      400001370000\n") != std::string::npos);
        Run j = f.run("list --json");
        CHECK(j.out.rfind("{\n  \"sessions\": [", 0) == 0);
        CHECK(j.out.find("\"negotiated\": {\n        \"HeaderDigest\": \"None\"") != std::string::npos);
    }
    SUBCASE("shutdown, and shutdown --keep-devices for an upgrade by hand") {
        CHECK(f.run("shutdown").status == 0);
        Run k = f.run("shutdown --keep-devices");
        CHECK(k.status == 0);
        CHECK(k.err.empty());
        CHECK(f.handler.shutdowns == std::vector<bool>{false, true});
        CHECK(f.run("shutdown --keep").status == 0);  // boost: unambiguous prefixes are accepted
        CHECK(f.run("shutdown --keep-devices=yes").status == 2);
    }
    SUBCASE("rescan: one line per device; a device that cannot follow its LUN fails the command") {
        Run r = f.run("rescan --device /dev/nbd0");
        CHECK(r.status == 0);
        CHECK(r.out == "/dev/nbd0: 64 MiB -> 96 MiB\n");
        CHECK(r.err.empty());
        CHECK(f.handler.last_rescan.device == "/dev/nbd0");
        Run a = f.run("rescan --all");
        CHECK(a.status == 1);
        CHECK(a.out == "/dev/nbd0: 64 MiB -> 96 MiB\n/dev/ublkb1: unchanged (64 MiB)\n");
        CHECK(a.err == "iserctl: /dev/ublkb2: LUN is now 96 MiB but this kernel's ublk cannot resize a live device\n");
        Run j = f.run("rescan --all --json");
        CHECK(j.status == 1);
        CHECK(j.out.rfind("{\n  \"devices\": [", 0) == 0);
        CHECK(j.out.find("\"result\": \"not-resizable\"") != std::string::npos);
        Run m = f.run("rescan --device /dev/missing");
        CHECK(m.status == 1);
        CHECK(m.err == "iserctl: no attached device /dev/missing\n");
        CHECK(f.run("rescan").status == 2);
        CHECK(f.run("rescan --all --target iqn.2003-01.org.example:disk1").status == 2);
        CHECK(f.run("rescan --target nonsense").status == 2);
    }
    SUBCASE("help and version") {
        Run h = f.run("login --help");
        CHECK(h.status == 0);
        CHECK(h.out.rfind("Usage: iserctl login --portal PORTAL --target IQN", 0) == 0);
        for (const char* verb : {"discover", "logout", "list", "shutdown", "rescan"}) {
            CAPTURE(verb);
            CHECK(f.run(std::string(verb) + " --help").status == 0);
        }
        Run v = f.run("--version");
        CHECK(v.status == 0);
        CHECK(v.out.rfind("iserctl ", 0) == 0);
    }
}

// One version, from one place (cmake/version.cmake): the line after the program name is the
// same for both binaries, starts with the project version and is the generated header's.
TEST_CASE("iserd and iserctl print the same version") {
#ifndef ISERD_PATH
    MESSAGE("SKIP: iserd is not part of this build");
#else
    auto first_line = [](const std::string& command, int& status) {
        std::string out;
        FILE* p = ::popen(command.c_str(), "r");
        REQUIRE(p);
        std::array<char, 512> buf;
        std::size_t n;
        while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
        int raw = ::pclose(p);
        status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
        return out;
    };
    int ctl_status = -1, daemon_status = -1;
    std::string ctl = first_line(std::string(ISERCTL_PATH) + " --version", ctl_status);
    std::string daemon = first_line(std::string(ISERD_PATH) + " --version", daemon_status);
    CHECK(ctl_status == 0);
    CHECK(daemon_status == 0);
    REQUIRE(ctl.rfind("iserctl ", 0) == 0);
    REQUIRE(daemon.rfind("iserd ", 0) == 0);
    const std::string ctl_version = ctl.substr(8), daemon_version = daemon.substr(6);
    CHECK(ctl_version == daemon_version);
    CHECK(ctl_version == std::string(iser::kVersionLine) + "\n");
    CHECK(ctl_version.rfind(iser::kProjectVersion, 0) == 0);
    // --version is in both --help texts.
    int status = -1;
    CHECK(first_line(std::string(ISERD_PATH) + " --help", status).find("--version") != std::string::npos);
    CHECK(first_line(std::string(ISERCTL_PATH) + " --help", status).find("--version") != std::string::npos);
#endif
}

TEST_CASE("iserctl: no iserd running") {
    if (::geteuid() != 0) {
        MESSAGE("SKIP: iserctl must run as root");
        return;
    }
    char tmpl[] = "/tmp/iserctl-cli-test.XXXXXX";
    REQUIRE(::mkdtemp(tmpl));
    std::string dir = tmpl;
    std::string socket = dir + "/iserd.sock";
    Run list = iserctl(socket, "list", dir);
    CHECK(list.status == 0);
    CHECK(list.out == "No sessions.\n");
    Run logout = iserctl(socket, "logout --target iqn.2003-01.org.example:d", dir);
    CHECK(logout.status == 1);
    CHECK(logout.err == "iserctl: iserd is not running (socket " + socket + ")\n");
    CHECK(iserctl(socket, "logout --all", dir).status == 0);
    std::filesystem::remove_all(dir);
}

TEST_CASE("iserctl wait: progress while reconnecting, then logged in; timeout; unknown device") {
    if (::geteuid() != 0) {
        MESSAGE("SKIP: iserctl must run as root");
        return;
    }
    Fixture f;
    f.handler.reconnecting_lists = 3;
    auto listed = f.run("list");
    CHECK(listed.out.find("state:     reconnecting (1 of 2 sessions reconnecting for 3 s; I/O held, fails with EIO in 117 s)\n") !=
          std::string::npos);
    auto waited = f.run("wait --timeout 20s /dev/ublkb0");
    CHECK(waited.status == 0);
    CHECK(waited.err.find("iserctl: wait: iqn.2003-01.org.example:disk1 (/dev/ublkb0): reconnecting (1 of 2 sessions") !=
          std::string::npos);
    CHECK(waited.out.find("1 session logged in after ") == 0);
    CHECK(f.handler.reconnecting_lists == 0);

    f.handler.reconnecting_lists = 1000000;
    auto timed_out = f.run("wait --timeout 1s -q");
    CHECK(timed_out.status == 1);
    CHECK(timed_out.err.find("iserctl: timed out after 1s: iqn.2003-01.org.example:disk1 (/dev/ublkb0): reconnecting") == 0);
    CHECK(timed_out.out.empty());

    auto unknown = f.run("wait /dev/ublkb9");
    CHECK(unknown.status == 1);
    CHECK(unknown.err == "iserctl: no session holds /dev/ublkb9 (see 'iserctl list')\n");
    CHECK(f.run("wait --timeout soon").status == 2);
}
