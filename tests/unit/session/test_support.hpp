// Shared pieces of the session/LUN tests: a real EventLoop driven until a condition holds, a
// Session wired to a FakeTarget, and task owners that record completions.
#pragma once
#include <doctest/doctest.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <vector>

#include "common/event_loop.hpp"
#include "fake_target.hpp"
#include "initiator/session/session.hpp"

namespace fake {

using namespace std::chrono_literals;

// Runs the loop until pred() holds or the timeout passes; returns pred().
inline bool run_until(iser::EventLoop& loop, const std::function<bool()>& pred,
                      std::chrono::milliseconds timeout = 2000ms) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    iser::EventLoop::TimerId id = 0;
    std::function<void()> poll = [&] {
        id = 0;
        if (pred() || std::chrono::steady_clock::now() >= deadline) {
            loop.stop();
            return;
        }
        id = loop.add_timer(1ms, poll);
    };
    id = loop.add_timer(0ms, poll);
    loop.run();
    if (id) loop.cancel_timer(id);
    return pred();
}

// Runs the loop for a while (to show that something does NOT happen).
inline void run_for(iser::EventLoop& loop, std::chrono::milliseconds d) {
    const auto end = std::chrono::steady_clock::now() + d;
    run_until(loop, [&] { return std::chrono::steady_clock::now() >= end; }, d + 1000ms);
}

inline iser::session::SessionConfig session_config(bool iser_transport) {
    iser::session::SessionConfig c;
    c.host = "fake-target";
    c.login.initiator_name = "iqn.2024-01.org.example:initiator";
    c.login.target_name = "iqn.2024-01.org.example:fake";
    c.login.isid = {0x80, 0, 0, 0, 0, 1};
    c.login.cmdsn = 77;
    c.login.offer.iser = iser_transport;
    c.login.offer.max_recv_data_segment_length = 16384;
    c.nop_interval = 0ms;  // keepalive off unless a test wants it
    c.max_tasks = 32;
    return c;
}

// A Session over a FakeTarget, with its loop.
struct Rig {
    std::unique_ptr<iser::EventLoop> loop = std::move(iser::EventLoop::create().value());
    iser::Logger log{iser::LogLevel::Error};
    FakeTarget target;
    std::unique_ptr<iser::session::Session> session;
    int failures = 0;
    iser::Error last_failure;

    explicit Rig(TargetOptions options = {}, std::function<void(iser::session::SessionConfig&)> tweak = {})
        : target(options) {
        auto cfg = session_config(options.target_moves_data);
        if (tweak) tweak(cfg);
        session = std::make_unique<iser::session::Session>(
            *loop, log, cfg, [this](iser::EventLoop& l, iser::Logger&, iser::datamover::Events& ev) {
                return std::make_unique<FakeDatamover>(target, l, ev);
            });
        session->on_failure([this](const iser::Error& e) {
            ++failures;
            last_failure = e;
        });
    }

    // Logs in; returns the status given to start()'s callback.
    iser::Status login() {
        bool done = false;
        iser::Status result = iser::make_error(EINPROGRESS, "not finished");
        session->start([&](iser::Status st) {
            done = true;
            result = std::move(st);
        });
        fake::run_until(*loop, [&] { return done; });
        return result;
    }

    bool run_until(const std::function<bool()>& pred, std::chrono::milliseconds t = 2000ms) {
        return fake::run_until(*loop, pred, t);
    }
};

// Records every task completion (and counts them per task to catch double completion).
struct Recorder : iser::session::TaskOwner {
    std::vector<iser::session::ScsiTask*> done;
    std::map<iser::session::ScsiTask*, int> count;
    void task_done(iser::session::ScsiTask& t) override {
        done.push_back(&t);
        ++count[&t];
    }
};

}  // namespace fake
