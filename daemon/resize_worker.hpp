// A thread of the control plane that runs posted jobs one after another: what a loop thread
// learns and cannot act on itself (a LUN resized by the target: resizing the block device blocks
// in netlink and ublk control commands) is posted here. post() takes a mutex for an instant;
// it is called on capacity-change events, never per I/O.
#pragma once
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

namespace iser::daemon {

class ResizeWorker {
public:
    ResizeWorker() = default;
    ~ResizeWorker() { stop(); }
    ResizeWorker(const ResizeWorker&) = delete;
    ResizeWorker& operator=(const ResizeWorker&) = delete;

    // Any thread. The thread starts with the first job; after stop() jobs are dropped.
    void post(std::function<void()> job);
    // Runs the job in progress to its end, drops the rest, joins. Idempotent.
    void stop();

private:
    void run();

    std::mutex mutex_;
    std::condition_variable wake_;
    std::deque<std::function<void()>> jobs_;
    bool stopping_ = false;
    std::thread thread_;
};

}  // namespace iser::daemon
