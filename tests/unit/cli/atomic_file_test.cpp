// write_file_atomically: the content and mode land, nothing is left beside the file, and a
// failure leaves the old file and no temporary behind.
#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "cli/atomic_file.hpp"

using namespace iser::cli;
namespace fs = std::filesystem;

namespace {

std::string read(const fs::path& p) {
    std::ifstream in(p);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

struct TempDir {
    TempDir() {
        char tmpl[] = "/tmp/atomic-file-test.XXXXXX";
        REQUIRE(::mkdtemp(tmpl));
        path = tmpl;
    }
    ~TempDir() { fs::remove_all(path); }
    std::size_t entries() const { return std::size_t(std::distance(fs::directory_iterator(path), {})); }
    fs::path path;
};

}  // namespace

TEST_CASE("write_file_atomically replaces the file with the content and the mode asked for") {
    TempDir dir;
    const auto file = dir.path / "iser.prom";
    const mode_t old_umask = ::umask(077);  // what iser-metrics.service's hardening might give
    REQUIRE(write_file_atomically(file.string(), "first\n", 0644).ok());
    CHECK(read(file) == "first\n");
    REQUIRE(write_file_atomically(file.string(), "second\n", 0644).ok());
    ::umask(old_umask);
    CHECK(read(file) == "second\n");
    struct stat st {};
    REQUIRE(::stat(file.c_str(), &st) == 0);
    CHECK((st.st_mode & 07777) == 0644);
    CHECK(dir.entries() == 1);  // no temporary left
}

TEST_CASE("write_file_atomically fails with one line and leaves nothing behind") {
    TempDir dir;
    auto missing = write_file_atomically((dir.path / "no-such-dir" / "iser.prom").string(), "x", 0644);
    REQUIRE(!missing.ok());
    CHECK(missing.error().message.find("no-such-dir") != std::string::npos);
    CHECK(missing.error().message.find('\n') == std::string::npos);
    // The target is a directory: the rename fails after the temporary was written.
    fs::create_directory(dir.path / "taken");
    fs::create_directory(dir.path / "taken" / "inner");
    auto taken = write_file_atomically((dir.path / "taken").string(), "x", 0644);
    REQUIRE(!taken.ok());
    CHECK(taken.error().message.find("rename") != std::string::npos);
    CHECK(dir.entries() == 1);  // just "taken": the temporary was removed
    CHECK(!write_file_atomically("", "x", 0644).ok());
}
