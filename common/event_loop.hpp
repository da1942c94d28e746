// A single-threaded epoll loop: fd readiness callbacks, one-shot timers, and same-thread
// deferred calls. Each session/connection and each frontend queue is owned by exactly one loop
// thread, so nothing it owns needs a lock. post() is the one thread-safe entry: the control
// plane uses it to hand work to a loop thread (never the data path).
#pragma once
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "common/result.hpp"
#include "common/unique_fd.hpp"

namespace iser {

class EventLoop {
public:
    using Clock = std::chrono::steady_clock;
    using FdHandler = std::function<void(std::uint32_t epoll_events)>;
    using Task = std::function<void()>;
    using TimerId = std::uint64_t;

    static Result<std::unique_ptr<EventLoop>> create();
    ~EventLoop();

    // Loop thread only.
    Status add_fd(int fd, std::uint32_t events, FdHandler handler);
    Status modify_fd(int fd, std::uint32_t events);
    void remove_fd(int fd);
    TimerId add_timer(std::chrono::milliseconds delay, Task task);
    void cancel_timer(TimerId id);
    void defer(Task task);  // runs after the current callback returns, on this thread

    // Runs until stop(); returns the error that stopped it, if any.
    void run();
    void stop();  // thread-safe

    // Any thread: run task on the loop thread soon.
    void post(Task task);

    bool in_loop_thread() const;

private:
    EventLoop() = default;
    void run_expired_timers();
    void drain_posted();
    int next_timeout_ms() const;

    UniqueFd epoll_;
    UniqueFd wake_;  // eventfd for post()/stop()
    std::unordered_map<int, std::shared_ptr<FdHandler>> handlers_;
    std::multimap<Clock::time_point, std::pair<TimerId, Task>> timers_;
    std::unordered_map<TimerId, Clock::time_point> timer_index_;
    TimerId next_timer_ = 1;
    std::deque<Task> deferred_;
    std::mutex posted_mutex_;  // control plane only
    std::vector<Task> posted_;
    bool stopping_ = false;
    std::uint64_t owner_thread_ = 0;
};

}  // namespace iser
