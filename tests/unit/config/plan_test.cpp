#include <doctest/doctest.h>

#include "config/loader.hpp"
#include "config/plan.hpp"

using namespace iser::config;

namespace {

constexpr const char* kFile = R"(initiator: {name: "iqn.2026-11.org.example:host1"}
targets:
  - name: fast
    iqn: iqn.2003-01.org.example:fast
    portals: [192.0.2.10, 192.0.2.11]
    timeouts: {login: 15s}
    device: {queues: 2}
  - name: slow
    iqn: iqn.2003-01.org.example:slow
    portals: ["[2001:db8::1]"]
    transport: tcp
    luns: [0, 2]
    device: {frontend: nbd}
mounts:
  - {target: fast, lun: 0, mountpoint: /srv/fast, fstype: ext4, options: [noatime], mkfs-if-empty: true}
  - {target: slow, lun: 2, mountpoint: /srv/slow, fstype: xfs}
)";

Config load(const std::string& text = kFile) {
    auto c = parse_config(text, "iser.yaml");
    REQUIRE_MESSAGE(c.ok(), (c.ok() ? "" : c.error().message));
    return *c;
}

// The system after a successful apply of kFile.
SystemState applied() {
    SystemState s;
    s.sessions = {{"iqn.2003-01.org.example:fast", "192.0.2.10:3260", "iser", "ublk", {{0, "/dev/ublkb0"}, {1, "/dev/ublkb1"}}, {}},
                  {"iqn.2003-01.org.example:slow", "[2001:db8::1]:3260", "tcp", "nbd", {{0, "/dev/nbd0"}}, {}},
                  {"iqn.2003-01.org.example:slow", "[2001:db8::1]:3260", "tcp", "nbd", {{2, "/dev/nbd1"}}, {}}};
    s.mounts = {{"/dev/sda1", "/", "ext4"}, {"/dev/ublkb0", "/srv/fast", "ext4"}, {"/dev/nbd1", "/srv/slow", "xfs"}};
    s.device_content = {{"/dev/ublkb1", DeviceContent::empty}, {"/dev/nbd0", DeviceContent::has_signature}};
    s.existing_directories = {"/srv/fast", "/srv/slow"};
    s.initiator_name = "iqn.2026-11.org.example:host1";
    return s;
}

std::vector<std::string> lines(const Plan& plan) {
    std::vector<std::string> out;
    for (const auto& s : plan.steps) out.push_back(describe(s));
    return out;
}

using Lines = std::vector<std::string>;
using After = std::vector<std::size_t>;

}  // namespace

TEST_CASE("plan: fresh system") {
    SystemState state;
    auto plan = make_plan(load(), state);
    CHECK(plan.conflicts.empty());
    CHECK(lines(plan) == Lines{
        "initiator-name iqn.2026-11.org.example:host1 (write /etc/iser/initiatorname.iser)",
        "login iqn.2003-01.org.example:fast all luns via 192.0.2.10:3260, 192.0.2.11:3260 (iser, ublk)",
        "login iqn.2003-01.org.example:slow lun 0 via [2001:db8::1]:3260 (tcp, nbd)",
        "login iqn.2003-01.org.example:slow lun 2 via [2001:db8::1]:3260 (tcp, nbd)",
        "mkfs.ext4 LUN 0 of 'fast' if it has no signature",
        "mkdir /srv/fast",
        "mount LUN 0 of 'fast' on /srv/fast (ext4, noatime)",
        "mkdir /srv/slow",
        "mount LUN 2 of 'slow' on /srv/slow (xfs)",
    });
    REQUIRE(plan.steps.size() == 9);
    const Step& login = plan.steps[1];
    CHECK(login.kind == StepKind::login);
    CHECK(login.login.portal == "192.0.2.10:3260");
    CHECK(login.login.alternate_portals == Lines{"192.0.2.11:3260"});
    CHECK_FALSE(login.login.lun.has_value());
    CHECK(login.login.queues == 2u);
    CHECK(login.login.login_timeout_ms == 15000u);
    CHECK_FALSE(login.login.nop_interval_ms.has_value());
    CHECK(login.after == After{0});  // the name is written before the first login
    CHECK(plan.steps[3].login.lun == 2u);
    CHECK(plan.steps[4].after == After{1});
    CHECK(plan.steps[6].after == After{1, 4, 5});
    CHECK(plan.steps[6].device.empty());  // comes from the login reply
    CHECK(plan.steps[8].after == After{3, 7});
}

TEST_CASE("plan: an applied system needs nothing") {
    auto plan = make_plan(load(), applied());
    CHECK(plan.steps.empty());
    CHECK(plan.conflicts.empty());
}

TEST_CASE("plan: a LUN removed from the file is unmounted, then logged out") {
    std::string file = kFile;
    file.replace(file.find("luns: [0, 2]"), 12, "luns: [0]");
    file.erase(file.find("  - {target: slow"));
    auto plan = make_plan(load(file), applied());
    CHECK(plan.conflicts.empty());
    CHECK(lines(plan) == Lines{"unmount /dev/nbd1 from /srv/slow",
                               "logout iqn.2003-01.org.example:slow (/dev/nbd1)"});
    CHECK(plan.steps[1].after == After{0});
}

TEST_CASE("plan: a target gone from the file is logged out, mounts first, deepest first") {
    auto state = applied();
    state.sessions.push_back({"iqn.2003-01.org.example:old", "192.0.2.99:3260", "iser", "ublk", {{0, "/dev/ublkb7"}}, {}});
    state.mounts.push_back({"/dev/ublkb7", "/srv/old", "ext4"});
    state.mounts.push_back({"/dev/ublkb7", "/srv/old/deeper", "ext4"});
    auto plan = make_plan(load(), state);
    CHECK(lines(plan) == Lines{"unmount /dev/ublkb7 from /srv/old/deeper", "unmount /dev/ublkb7 from /srv/old",
                               "logout iqn.2003-01.org.example:old (/dev/ublkb7)"});
    CHECK(plan.steps[2].after == After{0, 1});
}

TEST_CASE("plan: a moved mount is unmounted and mounted at its new place") {
    std::string file = kFile;
    file.replace(file.find("/srv/fast"), 9, "/srv/quick");
    auto state = applied();
    state.device_content["/dev/ublkb0"] = DeviceContent::has_signature;  // mounted; probed anyway
    auto plan = make_plan(load(file), state);
    CHECK(plan.conflicts.empty());
    CHECK(lines(plan) == Lines{"unmount /dev/ublkb0 from /srv/fast", "mkdir /srv/quick",
                               "mount /dev/ublkb0 on /srv/quick (ext4, noatime)"});
    CHECK(plan.steps[2].after == After{0, 1});
}

TEST_CASE("plan: a changed transport replaces the session") {
    std::string file = kFile;
    file.replace(file.find("transport: tcp"), 14, "transport: iser");
    auto plan = make_plan(load(file), applied());
    CHECK(lines(plan) == Lines{
        "unmount /dev/nbd1 from /srv/slow",
        "logout iqn.2003-01.org.example:slow (/dev/nbd0)",
        "logout iqn.2003-01.org.example:slow (/dev/nbd1)",
        "login iqn.2003-01.org.example:slow lun 0 via [2001:db8::1]:3260 (iser, nbd)",
        "login iqn.2003-01.org.example:slow lun 2 via [2001:db8::1]:3260 (iser, nbd)",
        "mount LUN 2 of 'slow' on /srv/slow (xfs)",
    });
    CHECK(plan.steps[2].after == After{0});
    CHECK(plan.steps[3].after == After{1, 2});
    CHECK(plan.steps[5].after == After{4, 0});
}

TEST_CASE("plan: a mountpoint holding another device is a conflict, not an unmount") {
    auto state = applied();
    state.mounts[1] = {"/dev/sdb1", "/srv/fast", "ext4"};
    auto plan = make_plan(load(), state);
    CHECK(plan.steps.empty());
    CHECK(plan.conflicts == Lines{"iser.yaml:15: mountpoint /srv/fast has /dev/sdb1 mounted (ext4), not LUN 0 of "
                                  "target 'fast'; unmount it or choose another mountpoint"});
}

TEST_CASE("plan: mkfs-if-empty on an empty and on a used device") {
    std::string file = kFile;
    file.replace(file.find("lun: 0, mountpoint: /srv/fast"), 6, "lun: 1");
    auto state = applied();
    state.mounts.erase(state.mounts.begin() + 1);  // ublkb0 no longer mounted on /srv/fast

    SUBCASE("empty device: format, then mount") {
        auto plan = make_plan(load(file), state);
        CHECK(plan.conflicts.empty());
        CHECK(lines(plan) == Lines{"mkfs.ext4 /dev/ublkb1 if it has no signature",
                                   "mount /dev/ublkb1 on /srv/fast (ext4, noatime)"});
        CHECK(plan.steps[1].after == After{0});
    }
    SUBCASE("device with a file system: mount only") {
        state.device_content["/dev/ublkb1"] = DeviceContent::has_signature;
        auto plan = make_plan(load(file), state);
        CHECK(lines(plan) == Lines{"mount /dev/ublkb1 on /srv/fast (ext4, noatime)"});
    }
    SUBCASE("empty device without mkfs-if-empty: a conflict") {
        file.replace(file.find("mkfs-if-empty: true"), 19, "mkfs-if-empty: false");
        auto plan = make_plan(load(file), state);
        CHECK(plan.steps.empty());
        CHECK(plan.conflicts == Lines{"iser.yaml:15: /dev/ublkb1 (LUN 1 of target 'fast') has no file system; "
                                      "set 'mkfs-if-empty: true' to create ext4 on it"});
    }
}

TEST_CASE("plan: a new LUN of a 'luns: all' target that is logged in") {
    std::string file = kFile;
    file.replace(file.find("lun: 0, mountpoint: /srv/fast"), 6, "lun: 5");
    auto plan = make_plan(load(file), applied());
    CHECK(lines(plan) == Lines{"unmount /dev/ublkb0 from /srv/fast"});
    CHECK(plan.conflicts == Lines{"iser.yaml:15: target 'fast' is logged in but has no LUN 5 attached; if the LUN is "
                                  "new, run 'iserctl logout --target iqn.2003-01.org.example:fast' and apply again"});
}

TEST_CASE("plan: a changed initiator name is written, nothing else") {
    auto state = applied();
    state.initiator_name = "iqn.2026-11.org.example:other";
    auto plan = make_plan(load(), state);
    CHECK(lines(plan) == Lines{"initiator-name iqn.2026-11.org.example:host1 (write /etc/iser/initiatorname.iser)"});
}

namespace {
// What iserd reports for the sessions of applied(): the login settings kFile gives.
SystemState applied_with_settings(const std::string& file = kFile) {
    SystemState state = applied();
    Config config = load(file);
    // Each session's settings are what a fresh plan of the file would send at login.
    auto fresh = make_plan(config, SystemState{});
    for (auto& session : state.sessions) {
        for (const auto& step : fresh.steps) {
            if (step.kind == StepKind::login && step.login.iqn == session.iqn)
                session.settings = std::make_shared<const LoginSpec>(step.login);
        }
    }
    return state;
}
}  // namespace

TEST_CASE("plan: unchanged login settings need nothing; portals compare with their default port") {
    auto state = applied_with_settings();
    CHECK(make_plan(load(), state).steps.empty());
    // Logged in by hand without the port: the same portal.
    auto spec = *state.sessions[0].settings;
    spec.portal = "192.0.2.10";
    state.sessions[0].settings = std::make_shared<const LoginSpec>(spec);
    CHECK(make_plan(load(), state).steps.empty());
}

TEST_CASE("plan: changed portals, CHAP or timeouts log the session in again, mounts around it") {
    const auto state = applied_with_settings();
    std::string file = kFile;
    const std::string old_portals = "portals: [192.0.2.10, 192.0.2.11]";
    file.replace(file.find(old_portals), old_portals.size(), "portals: [192.0.2.10, 192.0.2.12]");
    file.replace(file.find("timeouts: {login: 15s}"), 22, "timeouts: {login: 15s, replacement: 30s}");
    auto plan = make_plan(load(file), state);
    CHECK(plan.conflicts.empty());
    CHECK(lines(plan) == Lines{
        "unmount /dev/ublkb0 from /srv/fast",
        "logout iqn.2003-01.org.example:fast (/dev/ublkb0), to log in again: portals, timeouts changed",
        "login iqn.2003-01.org.example:fast all luns via 192.0.2.10:3260, 192.0.2.12:3260 (iser, ublk)",
        "mkfs.ext4 LUN 0 of 'fast' if it has no signature",
        "mount LUN 0 of 'fast' on /srv/fast (ext4, noatime)",
    });
    REQUIRE(plan.steps.size() == 5);
    CHECK(plan.steps[1].after == After{0});
    CHECK(plan.steps[2].after == After{1});
    CHECK(plan.steps[2].login.replacement_timeout_ms == 30000u);
    // The other target's sessions are untouched.
    for (const auto& step : plan.steps) CHECK(step.target.find("slow") == std::string::npos);
}

TEST_CASE("plan: a session of an older iserd (no settings reported) is kept") {
    std::string file = kFile;
    file.replace(file.find("timeouts: {login: 15s}"), 22, "timeouts: {login: 20s}");
    CHECK(make_plan(load(file), applied()).steps.empty());
    auto plan = make_plan(load(file), applied_with_settings());
    REQUIRE_FALSE(plan.steps.empty());
    CHECK(plan.steps[1].reason == "timeouts changed");
}
