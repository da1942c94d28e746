// daemon/device_links: /dev/disk/by-iser/<IQN>-lun<N> links, made in a temporary folder.
#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "daemon/device_links.hpp"

namespace fs = std::filesystem;
using iser::daemon::create_device_link;
using iser::daemon::device_link_name;
using iser::daemon::remove_device_link;

namespace {

constexpr const char* kIqn = "iqn.2003-01.org.example:disk1";

// A fake /dev: ROOT/dev/ublkb0 and ROOT/dev/ublkb1 as plain files; links go to
// ROOT/dev/disk/by-iser, which does not exist yet.
struct FakeDev {
    fs::path root;
    fs::path dev, by_iser;
    FakeDev() {
        char tmpl[] = "/tmp/iser-device-links.XXXXXX";
        REQUIRE(::mkdtemp(tmpl) != nullptr);
        root = tmpl;
        dev = root / "dev";
        by_iser = dev / "disk" / "by-iser";
        fs::create_directories(dev);
        std::ofstream(dev / "ublkb0") << "zero";
        std::ofstream(dev / "ublkb1") << "one";
    }
    ~FakeDev() { fs::remove_all(root); }
    std::string device(const char* name) const { return (dev / name).string(); }
    fs::path link(std::uint32_t lun) const { return by_iser / device_link_name(kIqn, lun); }
};

std::size_t entries(const fs::path& dir) {
    std::size_t n = 0;
    for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir)) ++n;
    return n;
}

}  // namespace

TEST_CASE("the link name is the IQN, '-lun' and the LUN number; ':' stays") {
    CHECK(device_link_name(kIqn, 0) == "iqn.2003-01.org.example:disk1-lun0");
    CHECK(device_link_name("eui.02004567a425678d", 16383) == "eui.02004567a425678d-lun16383");
}

TEST_CASE("create makes the folders 0755 under umask 077 and a relative link to the device") {
    FakeDev d;
    mode_t old = ::umask(077);
    auto st = create_device_link(kIqn, 3, d.device("ublkb0"), d.by_iser.string());
    ::umask(old);
    REQUIRE(st.ok());
    for (const fs::path& dir : {d.dev / "disk", d.by_iser}) {
        struct stat s{};
        REQUIRE(::stat(dir.c_str(), &s) == 0);
        CHECK((s.st_mode & 07777) == 0755);
    }
    REQUIRE(fs::is_symlink(d.link(3)));
    CHECK(fs::read_symlink(d.link(3)) == "../../ublkb0");
    CHECK(fs::equivalent(d.link(3), d.dev / "ublkb0"));
    std::ifstream in(d.link(3));
    std::string content;
    in >> content;
    CHECK(content == "zero");
}

TEST_CASE("create replaces an existing link and leaves no temporary file") {
    FakeDev d;
    REQUIRE(create_device_link(kIqn, 0, d.device("ublkb0"), d.by_iser.string()).ok());
    REQUIRE(create_device_link(kIqn, 0, d.device("ublkb1"), d.by_iser.string()).ok());
    CHECK(fs::read_symlink(d.link(0)) == "../../ublkb1");
    CHECK(entries(d.by_iser) == 1);
}

TEST_CASE("create replaces a temporary link left by a crashed iserd of the same pid") {
    FakeDev d;
    fs::create_directories(d.by_iser);
    fs::path stale = d.by_iser / ("." + device_link_name(kIqn, 1) + ".tmp" + std::to_string(::getpid()));
    fs::create_symlink("nowhere", stale);
    REQUIRE(create_device_link(kIqn, 1, d.device("ublkb1"), d.by_iser.string()).ok());
    CHECK(fs::read_symlink(d.link(1)) == "../../ublkb1");
    CHECK_FALSE(fs::exists(fs::symlink_status(stale)));
}

TEST_CASE("remove deletes the link only while it points at the given device") {
    FakeDev d;
    REQUIRE(create_device_link(kIqn, 0, d.device("ublkb1"), d.by_iser.string()).ok());
    // An older attachment of the same LUN, on ublkb0, going away: the link is not its own.
    remove_device_link(kIqn, 0, d.device("ublkb0"), d.by_iser.string());
    REQUIRE(fs::is_symlink(d.link(0)));
    // The device node may be gone already: the link text decides, not the target.
    fs::remove(d.dev / "ublkb1");
    remove_device_link(kIqn, 0, d.device("ublkb1"), d.by_iser.string());
    CHECK_FALSE(fs::exists(fs::symlink_status(d.link(0))));
    // Nothing there: no error, nothing made.
    remove_device_link(kIqn, 0, d.device("ublkb1"), d.by_iser.string());
    remove_device_link(kIqn, 0, d.device("ublkb1"), (d.root / "missing").string());
    CHECK_FALSE(fs::exists(d.root / "missing"));
}

TEST_CASE("remove leaves a regular file of that name alone") {
    FakeDev d;
    fs::create_directories(d.by_iser);
    std::ofstream(d.link(2)) << "not a link";
    remove_device_link(kIqn, 2, d.device("ublkb0"), d.by_iser.string());
    CHECK(fs::is_regular_file(d.link(2)));
}

TEST_CASE("bad arguments are refused before anything is made") {
    FakeDev d;
    auto slash = create_device_link("iqn.2003-01.org.example:a/b", 0, d.device("ublkb0"), d.by_iser.string());
    REQUIRE_FALSE(slash.ok());
    CHECK(slash.error().code == EINVAL);
    CHECK(slash.error().message == "device link: 'iqn.2003-01.org.example:a/b-lun0' cannot be a file name");
    auto relative = create_device_link(kIqn, 0, "ublkb0", d.by_iser.string());
    REQUIRE_FALSE(relative.ok());
    CHECK(relative.error().message == "device link: 'ublkb0' is not an absolute path");
    CHECK_FALSE(create_device_link(kIqn, 0, d.device("ublkb0"), "dev/disk/by-iser").ok());
    CHECK_FALSE(fs::exists(d.dev / "disk"));
}

TEST_CASE("a file where the folder should be is an error, not a crash") {
    FakeDev d;
    fs::create_directories(d.dev / "disk");
    std::ofstream(d.by_iser) << "in the way";
    auto st = create_device_link(kIqn, 0, d.device("ublkb0"), d.by_iser.string());
    REQUIRE_FALSE(st.ok());
    CHECK(st.error().code == ENOTDIR);
}
