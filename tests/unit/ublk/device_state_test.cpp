// Reading an existing device's state: the recovery verdicts and their one-line reasons, the
// geometry check a restarted daemon runs before START_USER_RECOVERY, and the small parsers.
#include <doctest/doctest.h>

#include <unistd.h>

#include "ublk/device_state.hpp"
#include "ublk/params.hpp"

using namespace iser;
using namespace iser::ublk;

namespace {

uapi::DevInfo device(std::uint16_t state, std::uint64_t flags, int pid = 812) {
    uapi::DevInfo info{};
    info.dev_id = 3;
    info.state = state;
    info.flags = flags;
    info.ublksrv_pid = pid;
    return info;
}

constexpr std::uint64_t kRecovery = uapi::kFlagUserRecovery | uapi::kFlagUserRecoveryReissue | uapi::kFlagCmdIoctlEncode;

BlockGeometry lun(std::uint64_t size) {
    BlockGeometry g;
    g.size_bytes = size;
    g.logical_block_size = 512;
    g.physical_block_size = 4096;
    g.max_io_bytes = 1u << 20;
    g.discard = true;
    g.write_zeroes = true;
    g.discard_granularity_bytes = 4096;
    return g;
}

}  // namespace

TEST_CASE("state names: the three driver states and an unknown one") {
    CHECK(state_name(0) == "DEAD");
    CHECK(state_name(1) == "LIVE");
    CHECK(state_name(2) == "QUIESCED");
    CHECK(state_name(7) == "UNKNOWN(7)");
}

TEST_CASE("recovery verdicts") {
    SUBCASE("quiesced with recovery flags: ready") {
        auto c = check_recovery(device(uapi::kStateQuiesced, kRecovery), false);
        CHECK(c.verdict == RecoveryVerdict::Ready);
        CHECK(c.reason.empty());
    }
    SUBCASE("live with its server running: refused, naming the pid") {
        auto c = check_recovery(device(uapi::kStateLive, kRecovery), true);
        CHECK(c.verdict == RecoveryVerdict::Refuse);
        CHECK(c.reason == "ublk device 3 is live (state LIVE, served by pid 812), not waiting for recovery");
    }
    SUBCASE("live with its server gone: wait for the kernel to quiesce it") {
        auto c = check_recovery(device(uapi::kStateLive, kRecovery), false);
        CHECK(c.verdict == RecoveryVerdict::WaitForQuiesce);
        CHECK(c.reason ==
              "ublk device 3 is still LIVE although its server (pid 812) is gone: the kernel has not quiesced it yet");
    }
    SUBCASE("no recovery flags: refused whatever the state") {
        auto c = check_recovery(device(uapi::kStateQuiesced, uapi::kFlagCmdIoctlEncode), false);
        CHECK(c.verdict == RecoveryVerdict::Refuse);
        CHECK(c.reason == "ublk device 3 was created without user recovery: it cannot be re-attached (delete it and "
                          "create a new one)");
    }
    SUBCASE("USER_RECOVERY alone is still recoverable") {
        auto info = device(uapi::kStateQuiesced, uapi::kFlagUserRecovery);
        CHECK(check_recovery(info, false).verdict == RecoveryVerdict::Ready);
        CHECK(!has_recovery_reissue(info));
        CHECK(has_recovery_reissue(device(uapi::kStateQuiesced, kRecovery)));
    }
    SUBCASE("dead (never started, or stopped): refused") {
        auto c = check_recovery(device(uapi::kStateDead, kRecovery, -1), false);
        CHECK(c.verdict == RecoveryVerdict::Refuse);
        CHECK(c.reason == "ublk device 3 was never started or was stopped (state DEAD): nothing to recover (delete it)");
    }
}

TEST_CASE("geometry: what the device was created with, read back from its parameters") {
    auto p = build_params(lun(1ull << 30), 1u << 20);
    REQUIRE(p);
    auto g = geometry_from_params(*p);
    CHECK(g.size_bytes == (1ull << 30));
    CHECK(g.logical_block_size == 512);
    CHECK(g.physical_block_size == 4096);
    CHECK(g.max_io_bytes == (1u << 20));
    CHECK(g.discard);
    CHECK(g.write_zeroes);
    CHECK(g.discard_granularity_bytes == 4096);
    CHECK(!g.read_only);
}

TEST_CASE("geometry check before re-attaching a LUN") {
    auto p = build_params(lun(1ull << 30), 1u << 20);
    REQUIRE(p);
    CHECK(check_geometry(3, *p, lun(1ull << 30)));

    auto bigger = lun(2ull << 30);
    auto st = check_geometry(3, *p, bigger);
    REQUIRE(!st);
    CHECK(st.error().code == EINVAL);
    CHECK(st.error().message ==
          "ublk device 3 does not match its backend: size 1073741824 on the device, 2147483648 on the backend");

    auto bs4k = lun(1ull << 30);
    bs4k.logical_block_size = 4096;
    CHECK(check_geometry(3, *p, bs4k).error().message ==
          "ublk device 3 does not match its backend: logical block size 512 on the device, 4096 on the backend");

    auto small_io = lun(1ull << 30);
    small_io.max_io_bytes = 256 << 10;  // the new session accepts less than the device may send
    CHECK(check_geometry(3, *p, small_io).error().message ==
          "ublk device 3 does not match its backend: largest I/O 1048576 on the device, 262144 on the backend");
    auto big_io = lun(1ull << 30);
    big_io.max_io_bytes = 4u << 20;  // more is fine
    CHECK(check_geometry(3, *p, big_io));

    auto no_discard = lun(1ull << 30);
    no_discard.discard = false;
    CHECK(check_geometry(3, *p, no_discard).error().message == "ublk device 3 offers discard, its backend does not");

    auto ro = lun(1ull << 30);
    ro.read_only = true;
    CHECK(check_geometry(3, *p, ro).error().message == "ublk device 3 is writable, its backend is read-only");

    uapi::Params empty{};
    CHECK(check_geometry(3, empty, lun(1ull << 30)).error().message == "ublk device 3 has no basic parameters");
}

TEST_CASE("char device names under /sys/class/ublk-char") {
    CHECK(parse_char_device_name("ublkc0") == 0);
    CHECK(parse_char_device_name("ublkc12") == 12);
    CHECK(parse_char_device_name("ublkc1048575") == 1048575);
    CHECK(!parse_char_device_name("ublkc"));
    CHECK(!parse_char_device_name("ublkb3"));
    CHECK(!parse_char_device_name("ublkc03"));
    CHECK(!parse_char_device_name("ublkc3x"));
    CHECK(!parse_char_device_name("ublkc-1"));
    CHECK(!parse_char_device_name("."));
}

TEST_CASE("/proc/PID/stat: running, sleeping, disk-wait are alive; zombies and dead are not") {
    CHECK(stat_line_says_running("812 (iserd) S 1 812 812 0 -1 4194560"));
    CHECK(stat_line_says_running("812 (iserd) D 1 812"));
    CHECK(stat_line_says_running("812 (a) b) R 1"));  // a name with ") " in it
    CHECK(!stat_line_says_running("812 (iserd) Z 1 812"));
    CHECK(!stat_line_says_running("812 (iserd) X 1"));
    CHECK(!stat_line_says_running("garbage"));
    CHECK(!stat_line_says_running("812 (iserd)"));
    CHECK(process_alive(::getpid()));
    CHECK(!process_alive(0));
    CHECK(!process_alive(-1));
}

TEST_CASE("a device served by this process or by no process is not live elsewhere") {
    uapi::DevInfo info{};
    info.state = uapi::kStateLive;
    info.ublksrv_pid = ::getpid();
    CHECK(!other_server_alive(info));
    CHECK(!live_elsewhere(info));
    info.ublksrv_pid = ::getppid();  // our parent runs
    CHECK(other_server_alive(info));
    CHECK(live_elsewhere(info));
    info.state = uapi::kStateQuiesced;
    CHECK(!live_elsewhere(info));
    info.state = uapi::kStateLive;
    info.ublksrv_pid = -1;
    CHECK(!live_elsewhere(info));
}
