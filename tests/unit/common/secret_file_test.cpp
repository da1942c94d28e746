// The one secret-file check that iserctl, the config loader and iserd share.
#include <doctest/doctest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include "common/secret_file.hpp"

using namespace iser;

namespace {
struct Dir {
    std::string path;
    Dir() {
        char t[] = "/tmp/secret-test-XXXXXX";
        REQUIRE(::mkdtemp(t));
        path = t;
    }
    ~Dir() { std::system(("rm -rf " + path).c_str()); }
    std::string file(const std::string& name, const std::string& content, mode_t mode) {
        const std::string p = path + "/" + name;
        std::ofstream(p) << content;
        REQUIRE(::chmod(p.c_str(), mode) == 0);
        return p;
    }
};
}  // namespace

TEST_CASE("a root-owned 0600 file is read: its first line, without the line end") {
    Dir d;
    auto p = d.file("s", "0123456789ab\r\nsecond line\n", 0600);
    CHECK(check_secret_file(p).ok());
    auto s = read_secret_file(p);
    REQUIRE(s);
    CHECK(*s == "0123456789ab");
}

TEST_CASE("a symlink is refused, never followed, even to a good file") {
    Dir d;
    auto good = d.file("s", "0123456789ab\n", 0600);
    const std::string link = d.path + "/link";
    REQUIRE(::symlink(good.c_str(), link.c_str()) == 0);
    for (auto st : {check_secret_file(link), Status(read_secret_file(link).ok() ? Status{} : make_error(EPERM, "symlink"))}) {
        REQUIRE_FALSE(st.ok());
        CHECK(st.error().code == EPERM);
    }
    CHECK(check_secret_file(link).error().message.find("symlink") != std::string::npos);
}

TEST_CASE("group or other access, a directory, an empty file and a foreign owner are refused") {
    Dir d;
    auto open = d.file("open", "0123456789ab\n", 0640);
    auto st = check_secret_file(open);
    REQUIRE_FALSE(st.ok());
    CHECK(st.error().message == open + " is accessible by group or others (mode 0640); run 'chmod 600 " + open + "'");
    CHECK_FALSE(read_secret_file(open).ok());
    CHECK_FALSE(check_secret_file(d.path).ok());
    CHECK(check_secret_file(d.path).error().message == d.path + " is not a regular file");
    auto empty = d.file("empty", "\n", 0600);
    CHECK(check_secret_file(empty).ok());
    CHECK_FALSE(read_secret_file(empty).ok());
    CHECK_FALSE(read_secret_file(d.path + "/missing").ok());
    if (::geteuid() == 0) {  // only root can give a file away
        auto foreign = d.file("foreign", "0123456789ab\n", 0600);
        REQUIRE(::chown(foreign.c_str(), 12345, 12345) == 0);
        auto owned = check_secret_file(foreign);
        REQUIRE_FALSE(owned.ok());
        CHECK(owned.error().message.find("owned by uid 12345") != std::string::npos);
    }
}

TEST_CASE("errors never carry the secret") {
    Dir d;
    auto open = d.file("open", "s3cret-value\n", 0644);
    auto r = read_secret_file(open);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message.find("s3cret-value") == std::string::npos);
}
