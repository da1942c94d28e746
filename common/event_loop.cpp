#include "common/event_loop.hpp"

#include <sys/epoll.h>
#include <sys/eventfd.h>

#include <cstring>
#include <pthread.h>

namespace iser {
namespace {
std::uint64_t this_thread_id() { return static_cast<std::uint64_t>(pthread_self()); }
}  // namespace

Result<std::unique_ptr<EventLoop>> EventLoop::create() {
    std::unique_ptr<EventLoop> loop(new EventLoop());
    loop->epoll_.reset(epoll_create1(EPOLL_CLOEXEC));
    if (!loop->epoll_.valid()) return make_error(errno, std::string("epoll_create1: ") + strerror(errno));
    loop->wake_.reset(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (!loop->wake_.valid()) return make_error(errno, std::string("eventfd: ") + strerror(errno));
    EventLoop* raw = loop.get();
    auto st = loop->add_fd(loop->wake_.get(), EPOLLIN, [raw](std::uint32_t) {
        std::uint64_t v;
        while (::read(raw->wake_.get(), &v, sizeof v) > 0) {
        }
        raw->drain_posted();
    });
    if (!st) return st.take_error();
    loop->owner_thread_ = this_thread_id();
    return loop;
}

EventLoop::~EventLoop() = default;

Status EventLoop::add_fd(int fd, std::uint32_t events, FdHandler handler) {
    epoll_event ev{};
    ev.events = events;
    ev.data.fd = fd;
    if (epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &ev) != 0)
        return make_error(errno, std::string("epoll_ctl add: ") + strerror(errno));
    handlers_[fd] = std::make_shared<FdHandler>(std::move(handler));
    return {};
}

Status EventLoop::modify_fd(int fd, std::uint32_t events) {
    epoll_event ev{};
    ev.events = events;
    ev.data.fd = fd;
    if (epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, fd, &ev) != 0)
        return make_error(errno, std::string("epoll_ctl mod: ") + strerror(errno));
    return {};
}

void EventLoop::remove_fd(int fd) {
    epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, fd, nullptr);
    handlers_.erase(fd);
}

EventLoop::TimerId EventLoop::add_timer(std::chrono::milliseconds delay, Task task) {
    TimerId id = next_timer_++;
    auto when = Clock::now() + delay;
    timers_.emplace(when, std::make_pair(id, std::move(task)));
    timer_index_[id] = when;
    return id;
}

void EventLoop::cancel_timer(TimerId id) {
    auto it = timer_index_.find(id);
    if (it == timer_index_.end()) return;
    auto range = timers_.equal_range(it->second);
    for (auto t = range.first; t != range.second; ++t) {
        if (t->second.first == id) {
            timers_.erase(t);
            break;
        }
    }
    timer_index_.erase(it);
}

void EventLoop::defer(Task task) { deferred_.push_back(std::move(task)); }

void EventLoop::post(Task task) {
    {
        std::lock_guard<std::mutex> lock(posted_mutex_);
        posted_.push_back(std::move(task));
    }
    std::uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(wake_.get(), &one, sizeof one);
}

void EventLoop::stop() {
    post([this] { stopping_ = true; });
}

bool EventLoop::in_loop_thread() const { return owner_thread_ == this_thread_id(); }

void EventLoop::drain_posted() {
    std::vector<Task> tasks;
    {
        std::lock_guard<std::mutex> lock(posted_mutex_);
        tasks.swap(posted_);
    }
    for (auto& t : tasks) t();
}

void EventLoop::run_expired_timers() {
    auto now = Clock::now();
    while (!timers_.empty() && timers_.begin()->first <= now) {
        auto node = timers_.extract(timers_.begin());
        timer_index_.erase(node.mapped().first);
        node.mapped().second();
    }
}

int EventLoop::next_timeout_ms() const {
    if (!deferred_.empty()) return 0;
    if (timers_.empty()) return -1;
    auto delta = timers_.begin()->first - Clock::now();
    if (delta <= Clock::duration::zero()) return 0;
    // Round up so a timer never fires early and spins.
    return int(std::chrono::ceil<std::chrono::milliseconds>(delta).count());
}

void EventLoop::run() {
    owner_thread_ = this_thread_id();
    stopping_ = false;
    epoll_event events[64];
    while (!stopping_) {
        int n = epoll_wait(epoll_.get(), events, 64, next_timeout_ms());
        if (n < 0 && errno != EINTR) break;
        for (int i = 0; i < n; ++i) {
            auto it = handlers_.find(events[i].data.fd);
            if (it == handlers_.end()) continue;
            auto handler = it->second;  // keep alive even if the callback removes itself
            (*handler)(events[i].events);
        }
        run_expired_timers();
        while (!deferred_.empty()) {
            auto task = std::move(deferred_.front());
            deferred_.pop_front();
            task();
        }
    }
}

}  // namespace iser
