// Every kind of mistake gives exactly one "FILE:LINE: message" line.
#include <doctest/doctest.h>

#include "config/loader.hpp"

using namespace iser::config;

namespace {

const std::string kTarget = "targets:\n"
                            "  - name: fast\n"
                            "    iqn: iqn.2003-01.org.example:fast\n"
                            "    portals: [192.0.2.10]\n";

std::string error_of(const std::string& text, const LoadOptions& options = {}) {
    auto c = parse_config(text, "/etc/iser/iser.yaml", options);
    REQUIRE_FALSE(c.ok());
    CHECK(c.error().code == EINVAL);
    return c.error().message;
}

}  // namespace

TEST_CASE("errors: YAML syntax with its line") {
    CHECK(error_of("targets:\n  - name: a\n    iqn: [unclosed\n") ==
          "/etc/iser/iser.yaml:4: YAML syntax error: end of sequence flow not found");
    CHECK(error_of("a: b\n  c: d\n") == "/etc/iser/iser.yaml:2: YAML syntax error: illegal map value");
}

TEST_CASE("errors: unknown keys suggest the right one") {
    CHECK(error_of("targets:\n  - name: fast\n    iqn: iqn.2003-01.org.example:fast\n    portal: 192.0.2.10\n") ==
          "/etc/iser/iser.yaml:2: target 'fast' has no 'portals'\n"
          "/etc/iser/iser.yaml:4: unknown key 'portal' in target 'fast' (did you mean 'portals'?)");
    CHECK(error_of("target: []\n") ==
          "/etc/iser/iser.yaml:1: unknown key 'target' in the file (top level) (did you mean 'targets'?)");
    CHECK(error_of(kTarget + "    colour: blue\n") == "/etc/iser/iser.yaml:5: unknown key 'colour' in target 'fast'");
    CHECK(error_of(kTarget + "    timeouts: {nop-intervall: 5s}\n") ==
          "/etc/iser/iser.yaml:5: unknown key 'nop-intervall' in timeouts of target 'fast' (did you mean 'nop-interval'?)");
}

TEST_CASE("errors: wrong types") {
    CHECK(error_of("targets: fast\n") == "/etc/iser/iser.yaml:1: 'targets' must be a list of targets");
    CHECK(error_of("- a\n") == "/etc/iser/iser.yaml:1: the file (top level) must be a map of keys and values");
    CHECK(error_of(kTarget + "    luns: 3\n") ==
          "/etc/iser/iser.yaml:5: target 'fast': luns must be 'all' or a list of LUN numbers, e.g. [0, 2]");
    CHECK(error_of(kTarget + "    luns: [0, x]\n") == "/etc/iser/iser.yaml:5: LUN must be a number from 0 to 16383, not 'x'");
    CHECK(error_of(kTarget + "    transport: rdma\n") ==
          "/etc/iser/iser.yaml:5: target 'fast': transport must be iser or tcp, not 'rdma'");
    CHECK(error_of(kTarget + "    iqn: [a]\n").find("duplicate key 'iqn' in target 'fast' (first at line 3)") != std::string::npos);
    CHECK(error_of(kTarget + "    device: {queues: 0}\n") ==
          "/etc/iser/iser.yaml:5: target 'fast': device queues must be a number from 1 to 16, not '0'");
    CHECK(error_of(kTarget + "    device: {frontend: nbd, depth: 64}\n") ==
          "/etc/iser/iser.yaml:5: target 'fast': device queues and depth apply to frontend ublk only");
    CHECK(error_of(kTarget + "    device: {frontend: nbd-server}\n") ==
          "/etc/iser/iser.yaml:5: target 'fast': frontend nbd-server gives a socket, not a block device to mount; use ublk or nbd");
    CHECK(error_of(kTarget + "    timeouts: {login: 5x}\n") ==
          "/etc/iser/iser.yaml:5: target 'fast': timeouts login: '5x' is not a duration (unknown unit; write e.g. 5s, "
          "500ms, 2m, 1h or a number of seconds)");
    CHECK(error_of(kTarget + "    timeouts:\n      nop-timeout: 0\n") ==
          "/etc/iser/iser.yaml:6: target 'fast': timeouts nop-timeout 0 needs nop-interval 0 (no keepalive)");
    CHECK(error_of(kTarget + "mounts:\n  - {target: fast, mountpoint: /a, fstype: ext4, mkfs-if-empty: maybe}\n") ==
          "/etc/iser/iser.yaml:6: mount on /a: mkfs-if-empty must be true or false, not 'maybe'");
}

TEST_CASE("errors: names and portals") {
    CHECK(error_of("targets:\n  - name: fast\n    iqn: iqn.2003.org.example\n    portals: [192.0.2.10]\n") ==
          "/etc/iser/iser.yaml:3: target 'fast': invalid iSCSI name 'iqn.2003.org.example': expected "
          "iqn.YYYY-MM.reversed.domain[:name], e.g. iqn.2003-01.org.example:disk1");
    CHECK(error_of("targets:\n  - name: fast\n    iqn: iqn.2003-01.org.example:fast\n    portals: [192.0.2.10, \"::1\"]\n") ==
          "/etc/iser/iser.yaml:4: target 'fast': invalid portal '::1': an IPv6 address must be in brackets, e.g. [::1]:3260");
    CHECK(error_of("targets:\n  - name: fast\n    iqn: iqn.2003-01.org.example:fast\n    portals: [a:0]\n") ==
          "/etc/iser/iser.yaml:4: target 'fast': invalid portal 'a:0': port 0 is out of range 1-65535");
    CHECK(error_of("targets:\n  - name: fast\n    iqn: iqn.2003-01.org.example:fast\n"
                   "    portals: [192.0.2.10, \"192.0.2.10:3260\"]\n") ==
          "/etc/iser/iser.yaml:4: target 'fast': portal 192.0.2.10:3260 is listed twice");
    CHECK(error_of("initiator: {name: host1}\n") ==
          "/etc/iser/iser.yaml:1: initiator name: invalid iSCSI name 'host1': must start with iqn., eui. or naa.");
    CHECK(error_of("targets:\n  - iqn: iqn.2003-01.org.example:fast\n    portals: [192.0.2.10]\n") ==
          "/etc/iser/iser.yaml:2: target #1 has no 'name'");
}

TEST_CASE("errors: duplicates") {
    CHECK(error_of(kTarget + "  - name: fast\n    iqn: iqn.2003-01.org.example:other\n    portals: [192.0.2.11]\n") ==
          "/etc/iser/iser.yaml:5: target 'fast': name 'fast' is already used by the target at line 2");
    CHECK(error_of(kTarget + "  - name: other\n    iqn: iqn.2003-01.org.example:fast\n    portals: [192.0.2.11]\n") ==
          "/etc/iser/iser.yaml:6: target 'other': iqn iqn.2003-01.org.example:fast is already used by target 'fast' (line 2)");
    CHECK(error_of(kTarget + "    luns: [1, 1]\n") == "/etc/iser/iser.yaml:5: target 'fast': LUN 1 is listed twice");
    CHECK(error_of(kTarget + "    luns: [0, 1]\nmounts:\n"
                             "  - {target: fast, lun: 0, mountpoint: /srv/a, fstype: ext4}\n"
                             "  - {target: fast, lun: 1, mountpoint: /srv/a/, fstype: ext4}\n") ==
          "/etc/iser/iser.yaml:8: mount on /srv/a/: mountpoint /srv/a is already used by the mount at line 7");
    CHECK(error_of(kTarget + "mounts:\n"
                             "  - {target: fast, mountpoint: /srv/a, fstype: ext4}\n"
                             "  - {target: fast, mountpoint: /srv/b, fstype: ext4}\n") ==
          "/etc/iser/iser.yaml:7: mount on /srv/b: LUN 0 of target 'fast' is already mounted on /srv/a (line 6)");
}

TEST_CASE("errors: mounts referring to what is not there") {
    CHECK(error_of(kTarget + "mounts:\n  - {target: fats, mountpoint: /srv/a, fstype: ext4}\n") ==
          "/etc/iser/iser.yaml:6: mount on /srv/a: unknown target 'fats' (did you mean 'fast'?)");
    CHECK(error_of(kTarget + "    luns: [0, 2]\nmounts:\n  - {target: fast, lun: 1, mountpoint: /srv/a, fstype: ext4}\n") ==
          "/etc/iser/iser.yaml:7: mount on /srv/a: LUN 1 is not among the LUNs of target 'fast' (0, 2)");
    CHECK(error_of(kTarget + "mounts:\n  - {target: fast, mountpoint: srv/a, fstype: ext4}\n") ==
          "/etc/iser/iser.yaml:6: mount on srv/a: mountpoint must be an absolute path, not 'srv/a'");
    CHECK(error_of(kTarget + "mounts:\n  - {target: fast, mountpoint: /srv/a}\n") ==
          "/etc/iser/iser.yaml:6: mount on /srv/a has no 'fstype'");
    CHECK(error_of(kTarget + "mounts:\n  - {target: fast, mountpoint: /srv/a, fstype: ext4, options: \"noatime,,ro\"}\n") ==
          "/etc/iser/iser.yaml:6: mount on /srv/a: empty mount option in 'noatime,,ro'");
}

TEST_CASE("errors: CHAP") {
    CHECK(error_of(kTarget + "    chap: {user: host1}\n") ==
          "/etc/iser/iser.yaml:5: target 'fast': chap needs both 'user' and 'secret-file'");
    CHECK(error_of(kTarget + "    chap: {mutual-user: t, mutual-secret-file: /m}\n") ==
          "/etc/iser/iser.yaml:5: target 'fast': mutual CHAP needs 'user' and 'secret-file' too");

    LoadOptions options;
    options.check_secret_file = [](const std::string& path) -> std::optional<std::string> {
        if (path == "/etc/iser/open.secret")
            return path + " is accessible by group or others (mode 0644); run 'chmod 600 " + path + "'";
        if (path == "/etc/iser/gone.secret") return path + ": No such file or directory";
        return std::nullopt;
    };
    CHECK(error_of(kTarget + "    chap:\n      user: host1\n      secret-file: /etc/iser/open.secret\n", options) ==
          "/etc/iser/iser.yaml:7: target 'fast': chap secret-file /etc/iser/open.secret is accessible by group or "
          "others (mode 0644); run 'chmod 600 /etc/iser/open.secret'");
    CHECK(error_of(kTarget + "    chap: {user: a, secret-file: /etc/iser/ok, mutual-user: b, mutual-secret-file: gone.secret}\n",
                   [&] {
                       LoadOptions o = options;
                       o.base_directory = "/etc/iser";
                       return o;
                   }()) ==
          "/etc/iser/iser.yaml:5: target 'fast': chap mutual-secret-file /etc/iser/gone.secret: No such file or directory");
}

TEST_CASE("errors: several problems, in line order") {
    CHECK(error_of("targets:\n  - name: a\n    iqn: bad\n    portals: [\"1.2.3.4:x\"]\nmounts:\n  - {target: b, mountpoint: /m, fstype: ext4}\n") ==
          "/etc/iser/iser.yaml:3: target 'a': invalid iSCSI name 'bad': must start with iqn., eui. or naa.\n"
          "/etc/iser/iser.yaml:4: target 'a': invalid portal '1.2.3.4:x': port 'x' is not a number\n"
          "/etc/iser/iser.yaml:6: mount on /m: unknown target 'b'");
}
