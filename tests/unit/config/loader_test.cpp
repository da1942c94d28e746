#include <doctest/doctest.h>

#include <fstream>
#include <sstream>

#include "config/loader.hpp"

using namespace iser::config;
using std::chrono::milliseconds;

namespace {

constexpr const char* kGood = R"(# a full file
initiator:
  name: iqn.2026-11.org.example:host1
targets:
  - name: fast
    iqn: iqn.2003-01.org.linux-iscsi.lab:disk
    portals: [192.0.2.10, "192.0.2.11:3261", "[2001:db8::1]:3260"]
    transport: iser
    chap: {user: host1, secret-file: fast.secret, mutual-user: tgt, mutual-secret-file: /etc/iser/fast.mutual}
    luns: all
    timeouts: {login: 15s, nop-interval: 5s, nop-timeout: 500ms, command: 2m, replacement: 120}
    device: {frontend: ublk, queues: 2, depth: 128}
  - name: slow
    iqn: iqn.2003-01.org.linux-iscsi.lab:slow
    portals: lab.example.org
    transport: tcp
    luns: [0, 2]
    device:
      frontend: nbd
mounts:
  - target: fast
    lun: 0
    mountpoint: /srv/fast/
    fstype: ext4
    options: [noatime, discard]
    mkfs-if-empty: true
  - target: slow
    lun: 2
    mountpoint: /srv/slow
    fstype: xfs
    options: "noatime,nofail"
)";

}  // namespace

TEST_CASE("loader: golden file to structs") {
    std::vector<std::string> checked;
    LoadOptions options;
    options.base_directory = "/etc/iser";
    options.check_secret_file = [&](const std::string& path) -> std::optional<std::string> {
        checked.push_back(path);
        return std::nullopt;
    };
    auto c = parse_config(kGood, "iser.yaml", options);
    REQUIRE_MESSAGE(c.ok(), (c.ok() ? "" : c.error().message));
    CHECK(c->source == "iser.yaml");
    CHECK(c->initiator_name == "iqn.2026-11.org.example:host1");
    REQUIRE(c->targets.size() == 2);

    const Target& fast = c->targets[0];
    CHECK(fast.name == "fast");
    CHECK(fast.iqn == "iqn.2003-01.org.linux-iscsi.lab:disk");
    CHECK(fast.portals == std::vector<std::string>{"192.0.2.10:3260", "192.0.2.11:3261", "[2001:db8::1]:3260"});
    CHECK(fast.transport == "iser");
    CHECK(fast.chap.user == "host1");
    CHECK(fast.chap.secret_file == "/etc/iser/fast.secret");  // relative: from the file's directory
    CHECK(fast.chap.mutual_user == "tgt");
    CHECK(fast.chap.mutual_secret_file == "/etc/iser/fast.mutual");
    CHECK(checked == std::vector<std::string>{"/etc/iser/fast.secret", "/etc/iser/fast.mutual"});
    CHECK(fast.all_luns);
    CHECK(fast.line == 5);
    CHECK(fast.timeouts.login == milliseconds(15000));
    CHECK(fast.timeouts.nop_interval == milliseconds(5000));
    CHECK(fast.timeouts.nop_timeout == milliseconds(500));
    CHECK(fast.timeouts.command == milliseconds(120000));
    CHECK(fast.timeouts.replacement == milliseconds(120000));
    CHECK(fast.device.frontend == "ublk");
    CHECK(fast.device.queues == 2u);
    CHECK(fast.device.depth == 128u);

    const Target& slow = c->targets[1];
    CHECK(slow.portals == std::vector<std::string>{"lab.example.org:3260"});
    CHECK(slow.transport == "tcp");
    CHECK_FALSE(slow.all_luns);
    CHECK(slow.luns == std::vector<std::uint32_t>{0, 2});
    CHECK(slow.selects(2));
    CHECK_FALSE(slow.selects(1));
    CHECK(slow.chap.user.empty());
    CHECK_FALSE(slow.timeouts.login.has_value());
    CHECK(slow.device.frontend == "nbd");
    CHECK_FALSE(slow.device.queues.has_value());

    REQUIRE(c->mounts.size() == 2);
    CHECK(c->mounts[0].target == "fast");
    CHECK(c->mounts[0].lun == 0);
    CHECK(c->mounts[0].mountpoint == "/srv/fast");  // trailing slash dropped
    CHECK(c->mounts[0].fstype == "ext4");
    CHECK(c->mounts[0].options == std::vector<std::string>{"noatime", "discard"});
    CHECK(c->mounts[0].mkfs_if_empty);
    CHECK(c->mounts[0].line == 21);
    CHECK(c->mounts[1].options == std::vector<std::string>{"noatime", "nofail"});
    CHECK_FALSE(c->mounts[1].mkfs_if_empty);
}

TEST_CASE("loader: defaults and empty files") {
    auto empty = parse_config("", "e.yaml");
    REQUIRE(empty.ok());
    CHECK(empty->targets.empty());
    CHECK(empty->mounts.empty());
    CHECK_FALSE(empty->initiator_name.has_value());

    auto comments = parse_config("# nothing yet\ntargets:\nmounts: []\n", "e.yaml");
    REQUIRE(comments.ok());
    CHECK(comments->targets.empty());

    auto minimal = parse_config("targets:\n  - {name: a, iqn: iqn.2003-01.org.example:a, portals: [127.0.0.1]}\n"
                                "mounts:\n  - {target: a, mountpoint: /mnt/a, fstype: ext4}\n",
                                "m.yaml");
    REQUIRE_MESSAGE(minimal.ok(), (minimal.ok() ? "" : minimal.error().message));
    const Target& a = minimal->targets.at(0);
    CHECK(a.transport == "iser");
    CHECK(a.all_luns);
    CHECK(a.device.frontend == "ublk");
    CHECK(minimal->mounts.at(0).lun == 0);
    CHECK(minimal->mounts.at(0).options.empty());
    CHECK_FALSE(minimal->mounts.at(0).mkfs_if_empty);
}

TEST_CASE("loader: the shipped example is valid") {
    std::ifstream in(ISER_CONFIG_EXAMPLE);
    REQUIRE(in);
    std::ostringstream text;
    text << in.rdbuf();
    auto c = parse_config(text.str(), "iser.yaml.example");
    REQUIRE_MESSAGE(c.ok(), (c.ok() ? "" : c.error().message));
    CHECK(c->targets.size() >= 2);
    CHECK(c->mounts.size() >= 1);
}
