// blk-mq's queue -> CPU map as sysfs prints it, and the file read for one queue.
#include <doctest/doctest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "ublk/queue_affinity.hpp"

using namespace iser::ublk;

TEST_CASE("cpu lists: single, comma and space separated, ranges, trailing newline") {
    CHECK(*parse_cpu_list("0\n") == std::vector<int>{0});
    CHECK(*parse_cpu_list("0, 1, 2") == std::vector<int>{0, 1, 2});
    CHECK(*parse_cpu_list("0,1") == std::vector<int>{0, 1});
    CHECK(*parse_cpu_list("0-3, 8, 10-11\n") == std::vector<int>{0, 1, 2, 3, 8, 10, 11});
}

TEST_CASE("cpu lists: garbage, empty, reversed ranges and negatives are refused") {
    for (const char* bad : {"", "\n", "x", "1-", "3-1", "-1", "1;2", "0-99999999", "1 2a"}) {
        auto r = parse_cpu_list(bad);
        CHECK_MESSAGE(!r, bad);
        if (!r) CHECK(r.error().code == EINVAL);
    }
}

TEST_CASE("queue_cpus reads /sys/block/ublkbN/mq/Q/cpu_list") {
    namespace fs = std::filesystem;
    fs::path root = fs::temp_directory_path() / ("ublk-affinity-" + std::to_string(::getpid()));
    fs::create_directories(root / "ublkb3" / "mq" / "1");
    std::ofstream(root / "ublkb3" / "mq" / "1" / "cpu_list") << "2, 3\n";
    auto cpus = queue_cpus(3, 1, root.string());
    REQUIRE(cpus);
    CHECK(*cpus == std::vector<int>{2, 3});
    auto missing = queue_cpus(3, 0, root.string());
    REQUIRE(!missing);
    CHECK(missing.error().code == ENOENT);
    CHECK(missing.error().message.find("ublkb3/mq/0/cpu_list") != std::string::npos);
    fs::remove_all(root);
}
