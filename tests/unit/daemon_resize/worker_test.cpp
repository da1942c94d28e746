// The worker that takes resizes off the lanes' loop threads: jobs run in order on one other
// thread; after stop() nothing runs.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <thread>
#include <vector>

#include "daemon/resize_worker.hpp"

using namespace iser::daemon;

TEST_CASE("ResizeWorker: jobs run in order, off the posting thread") {
    ResizeWorker worker;
    std::vector<int> order;
    std::promise<std::thread::id> ran_on;
    for (int i = 0; i < 5; ++i) worker.post([&order, i] { order.push_back(i); });
    worker.post([&ran_on] { ran_on.set_value(std::this_thread::get_id()); });
    auto future = ran_on.get_future();
    REQUIRE(future.wait_for(std::chrono::seconds(5)) == std::future_status::ready);
    CHECK(future.get() != std::this_thread::get_id());
    CHECK(order == std::vector<int>{0, 1, 2, 3, 4});
}

TEST_CASE("ResizeWorker: after stop() posts are dropped") {
    ResizeWorker worker;
    std::atomic<int> runs{0};
    worker.stop();
    worker.post([&runs] { ++runs; });
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    CHECK(runs == 0);
    worker.stop();  // idempotent
}
