// daemon/initiator_name: ours first, then open-iscsi's, else generated once and persisted.
#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "daemon/initiator_name.hpp"

namespace fs = std::filesystem;
using namespace iser::daemon;

namespace {

struct TempEtc {
    fs::path root;
    InitiatorNameFiles files;
    TempEtc() {
        char tmpl[] = "/tmp/iser-initiator-name.XXXXXX";
        REQUIRE(::mkdtemp(tmpl) != nullptr);
        root = tmpl;
        files.ours = (root / "iser" / "initiatorname.iser").string();
        files.open_iscsi = (root / "iscsi" / "initiatorname.iscsi").string();
    }
    ~TempEtc() { fs::remove_all(root); }
    void write(const std::string& path, const std::string& text) const {
        fs::create_directories(fs::path(path).parent_path());
        std::ofstream(path) << text;
    }
};

std::string slurp(const std::string& path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

}  // namespace

TEST_CASE("parse: the InitiatorName= line of open-iscsi's file, comments skipped") {
    // The layout Debian's open-iscsi writes.
    const std::string debian =
        "## DO NOT EDIT OR REMOVE THIS FILE!\n"
        "## If you remove this file, the iSCSI daemon will not start.\n"
        "## If you change the InitiatorName, existing access control lists\n"
        "## may reject this initiator.  The InitiatorName must be unique\n"
        "## for each iSCSI initiator.  Do NOT duplicate iSCSI InitiatorNames.\n"
        "InitiatorName=iqn.1993-08.org.debian:01:6c8d3bb2a9f1\n";
    CHECK(parse_initiator_name_file(debian) == "iqn.1993-08.org.debian:01:6c8d3bb2a9f1");
    CHECK(parse_initiator_name_file("#InitiatorName=iqn.2000-01.com.example:old\n"
                                    "  InitiatorName = nope\n"
                                    "\tInitiatorName=  iqn.2000-01.com.example:new  # the new one\r\n") ==
          "iqn.2000-01.com.example:new");
    CHECK(parse_initiator_name_file("InitiatorName=\nInitiatorName=iqn.2000-01.com.example:second\n") ==
          "iqn.2000-01.com.example:second");
    CHECK(parse_initiator_name_file("InitiatorAlias=host\n").empty());
    CHECK(parse_initiator_name_file("").empty());
}

TEST_CASE("generated names are valid iqn. names whatever the host name") {
    CHECK(generated_initiator_name("db1", 0x1234abcd) == "iqn.2026-11.org.iser-initiator:db1-1234abcd");
    CHECK(generated_initiator_name("Web_Server.Example", 7) == "iqn.2026-11.org.iser-initiator:web-server.example-00000007");
    CHECK(generated_initiator_name("", 0xffffffff) == "iqn.2026-11.org.iser-initiator:localhost-ffffffff");
}

TEST_CASE("ours wins over open-iscsi's") {
    TempEtc etc;
    etc.write(etc.files.ours, "InitiatorName=iqn.2026-11.org.example:ours\n");
    etc.write(etc.files.open_iscsi, "InitiatorName=iqn.1993-08.org.debian:01:theirs\n");
    auto name = load_or_create_initiator_name(etc.files);
    REQUIRE(name.ok());
    CHECK(*name == "iqn.2026-11.org.example:ours");
}

TEST_CASE("open-iscsi's is read, not copied, when ours has no name") {
    TempEtc etc;
    etc.write(etc.files.ours, "# nothing yet\n");
    etc.write(etc.files.open_iscsi, "## comment\nInitiatorName=iqn.1993-08.org.debian:01:theirs\n");
    auto name = load_or_create_initiator_name(etc.files);
    REQUIRE(name.ok());
    CHECK(*name == "iqn.1993-08.org.debian:01:theirs");
    CHECK(slurp(etc.files.ours) == "# nothing yet\n");
}

TEST_CASE("without either, a name is generated once, persisted 0644, and read back next time") {
    TempEtc etc;
    mode_t old = ::umask(077);
    auto first = load_or_create_initiator_name(etc.files);
    ::umask(old);
    REQUIRE(first.ok());
    CHECK(first->rfind("iqn.2026-11.org.iser-initiator:", 0) == 0);
    CHECK(std::regex_match(*first, std::regex("iqn\\.2026-11\\.org\\.iser-initiator:[a-z0-9.-]+-[0-9a-f]{8}")));
    CHECK(parse_initiator_name_file(slurp(etc.files.ours)) == *first);
    struct stat st{};
    REQUIRE(::stat(etc.files.ours.c_str(), &st) == 0);
    CHECK((st.st_mode & 07777) == 0644);
    REQUIRE(::stat(fs::path(etc.files.ours).parent_path().c_str(), &st) == 0);
    CHECK((st.st_mode & 07777) == 0755);
    CHECK_FALSE(fs::exists(etc.files.ours + ".tmp"));
    auto second = load_or_create_initiator_name(etc.files);
    REQUIRE(second.ok());
    CHECK(*second == *first);
}

TEST_CASE("an unwritable folder is an error naming the file") {
    TempEtc etc;
    etc.files.ours = (etc.root / "missing" / "deeper" / "initiatorname.iser").string();
    auto name = load_or_create_initiator_name(etc.files);
    REQUIRE_FALSE(name.ok());
    CHECK(name.error().message.find((etc.root / "missing" / "deeper").string()) != std::string::npos);
}
