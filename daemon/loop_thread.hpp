// An EventLoop on its own thread, and a blocking call() for the control plane: run a function
// on the loop thread that eventually answers through a callback, and wait for that answer.
#pragma once
#include <atomic>
#include <chrono>
#include <functional>
#include <future>
#include <memory>
#include <thread>

#include "common/event_loop.hpp"

namespace iser::daemon {

class LoopThread {
public:
    static Result<std::unique_ptr<LoopThread>> start() {
        auto loop = EventLoop::create();
        if (!loop) return loop.take_error();
        std::unique_ptr<LoopThread> t(new LoopThread(std::move(*loop)));
        t->thread_ = std::thread([raw = t->loop_.get()] { raw->run(); });
        return t;
    }
    ~LoopThread() { stop(); }

    EventLoop& loop() { return *loop_; }

    // Runs `work` on the loop thread; `work` must call its `reply` argument exactly once (now or
    // later, on the loop thread). Blocks the caller until it does and returns the value.
    template <class T>
    T call(std::function<void(std::function<void(T)>)> work) {
        auto promise = std::make_shared<std::promise<T>>();
        auto future = promise->get_future();
        loop_->post([work = std::move(work), promise] {
            work([promise](T value) { promise->set_value(std::move(value)); });
        });
        return future.get();
    }

    // The same, but while waiting it watches `cancel`: once it is set, `on_cancel` runs on the
    // loop thread (once), and must make `work` answer soon (with an error). The call still waits
    // for that answer: `work` may refer to the caller's objects until it has replied.
    template <class T>
    T call(std::function<void(std::function<void(T)>)> work, const std::atomic<bool>* cancel,
           std::function<void()> on_cancel) {
        auto promise = std::make_shared<std::promise<T>>();
        auto future = promise->get_future();
        loop_->post([work = std::move(work), promise] {
            work([promise](T value) { promise->set_value(std::move(value)); });
        });
        while (cancel && future.wait_for(std::chrono::milliseconds(50)) != std::future_status::ready) {
            if (!*cancel) continue;
            loop_->post(std::move(on_cancel));
            break;
        }
        return future.get();
    }

    void stop() {
        if (thread_.joinable()) {
            loop_->stop();
            thread_.join();
        }
    }

private:
    explicit LoopThread(std::unique_ptr<EventLoop> loop) : loop_(std::move(loop)) {}
    std::unique_ptr<EventLoop> loop_;
    std::thread thread_;
};

}  // namespace iser::daemon
