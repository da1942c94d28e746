// ublk_memory_disk: a FRONTEND test tool, not end-to-end iSCSI. It creates a ublk device over
// a memory disk (no target, no network), prints /dev/ublkbN on stdout, serves it until SIGTERM
// or SIGINT, then stops and deletes the device. The lab scripts use it to exercise the ublk
// library (queues, data copies, discard, block sizes, teardown) inside the 6.12 VM.
// Not installed.
//
//   ublk_memory_disk [--size BYTES[K|M|G]] [--block-size 512|4096] [--queues N] [--depth N]
//                    [--max-io BYTES[K|M]] [--no-discard] [--debug]
//
// Threads: main (control: Controller, Device, signals) and one loop thread per queue, each
// owning its Queue and its MemoryDiskBackend; all backends share one memory disk.
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "common/event_loop.hpp"
#include "common/log.hpp"
#include "tests/lab/ublk/memory_disk_backend.hpp"
#include "ublk/controller.hpp"
#include "ublk/device.hpp"
#include "ublk/queue.hpp"

using namespace iser;

namespace {

bool parse_size(const char* text, std::uint64_t& out) {
    char* end = nullptr;
    unsigned long long v = std::strtoull(text, &end, 10);
    if (end == text) return false;
    switch (*end) {
        case 'K': case 'k': v <<= 10; ++end; break;
        case 'M': case 'm': v <<= 20; ++end; break;
        case 'G': case 'g': v <<= 30; ++end; break;
        default: break;
    }
    if (*end != '\0') return false;
    out = v;
    return true;
}

[[noreturn]] void usage() {
    std::fprintf(stderr,
                 "usage: ublk_memory_disk [--size BYTES[K|M|G]] [--block-size 512|4096] [--queues N] [--depth N]\n"
                 "                        [--max-io BYTES[K|M]] [--no-discard] [--debug]\n");
    std::exit(2);
}

struct QueueThread {
    std::unique_ptr<EventLoop> loop;
    std::unique_ptr<lab::MemoryDiskBackend> backend;
    std::unique_ptr<ublk::Queue> queue;
    std::thread thread;
};

}  // namespace

int main(int argc, char** argv) {
    std::uint64_t size = 256ull << 20, max_io = 1u << 20, block = 512, queues = 1, depth = 128;
    bool discard = true;
    Logger log(LogLevel::Info);
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        auto value = [&](std::uint64_t& out) {
            if (i + 1 >= argc || !parse_size(argv[++i], out)) usage();
        };
        if (a == "--size") value(size);
        else if (a == "--block-size") value(block);
        else if (a == "--queues") value(queues);
        else if (a == "--depth") value(depth);
        else if (a == "--max-io") value(max_io);
        else if (a == "--no-discard") discard = false;
        else if (a == "--debug") log.set_level(LogLevel::Debug);
        else usage();
    }
    if (queues == 0 || queues > 64 || depth == 0 || depth > 4096 || max_io > (1u << 30)) usage();

    // Signals are taken synchronously by main; every thread inherits the blocked mask.
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGTERM);
    sigaddset(&stop_signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

    ublk::DeviceConfig config;
    config.queues = std::uint16_t(queues);
    config.depth = std::uint16_t(depth);
    auto& g = config.geometry;
    g.size_bytes = size;
    g.logical_block_size = std::uint32_t(block);
    g.physical_block_size = std::uint32_t(block);
    g.max_io_bytes = std::uint32_t(max_io);
    g.volatile_cache = true;
    g.fua = true;
    g.discard = discard;
    g.discard_granularity_bytes = std::uint32_t(block);
    g.write_zeroes = discard;
    g.name = "memory";

    lab::MemoryDisk disk(size);
    if (!disk.ok()) {
        std::fprintf(stderr, "ublk_memory_disk: cannot map %llu bytes\n", static_cast<unsigned long long>(size));
        return 1;
    }
    auto controller = ublk::Controller::open();
    if (!controller) {
        std::fprintf(stderr, "ublk_memory_disk: %s\n", controller.error().message.c_str());
        return 1;
    }
    auto device = ublk::Device::create(**controller, config, log);
    if (!device) {
        std::fprintf(stderr, "ublk_memory_disk: %s\n", device.error().message.c_str());
        return 1;
    }
    ublk::Device& dev = **device;

    // One loop thread per queue the driver granted; each creates its Queue on its own thread.
    std::vector<QueueThread> threads(dev.queues());
    std::vector<std::future<Status>> created;
    for (std::uint16_t q = 0; q < dev.queues(); ++q) {
        auto loop = EventLoop::create();
        if (!loop) {
            std::fprintf(stderr, "ublk_memory_disk: %s\n", loop.error().message.c_str());
            return 1;
        }
        auto& t = threads[q];
        t.loop = std::move(loop.value());
        t.backend = std::make_unique<lab::MemoryDiskBackend>(*t.loop, disk, g);
        auto done = std::make_shared<std::promise<Status>>();
        created.push_back(done->get_future());
        t.loop->post([&t, &dev, &log, q, done] {
            auto queue = ublk::Queue::create(dev, q, *t.loop, *t.backend, log);
            if (!queue) {
                done->set_value(queue.take_error());
                return;
            }
            t.queue = std::move(queue.value());
            done->set_value(Status{});
        });
        t.thread = std::thread([&t] { t.loop->run(); });
    }
    bool all_created = true;
    for (auto& f : created) {
        auto st = f.get();
        if (!st) {
            std::fprintf(stderr, "ublk_memory_disk: %s\n", st.error().message.c_str());
            all_created = false;
        }
    }

    int exit_code = 0;
    bool started = false;
    if (all_created) {
        auto st = dev.start(getpid());  // returns once every queue's FETCH_REQs are in
        if (!st) {
            std::fprintf(stderr, "ublk_memory_disk: %s\n", st.error().message.c_str());
            exit_code = 1;
        } else {
            started = true;
            std::printf("%s\n", dev.block_path().c_str());
            std::fflush(stdout);
            int sig = 0;
            sigwait(&stop_signals, &sig);
        }
    } else {
        exit_code = 1;
    }

    if (started) {
        auto st = dev.stop();  // waits for in-flight I/O: the loops keep running meanwhile
        if (!st) {
            std::fprintf(stderr, "ublk_memory_disk: %s\n", st.error().message.c_str());
            exit_code = 1;
        }
    }
    std::vector<std::future<void>> closed;
    for (auto& t : threads) {
        auto done = std::make_shared<std::promise<void>>();
        closed.push_back(done->get_future());
        t.loop->post([&t, done] {
            if (!t.queue) {
                done->set_value();
                return;
            }
            t.queue->shutdown([done] { done->set_value(); });
        });
    }
    for (auto& f : closed) f.get();
    std::uint64_t requests = 0, submits = 0, errors = 0;
    for (auto& t : threads) {
        t.loop->post([&t, &requests, &submits, &errors] {
            if (t.queue) {
                requests += t.queue->stats().requests;
                submits += t.queue->stats().submit_calls;
                errors += t.queue->stats().errors;
            }
            t.queue.reset();
            t.loop->stop();
        });
        t.thread.join();
    }
    auto removed = dev.remove();  // after every queue released /dev/ublkcN
    if (!removed) {
        std::fprintf(stderr, "ublk_memory_disk: %s\n", removed.error().message.c_str());
        exit_code = 1;
    }
    std::fprintf(stderr, "ublk_memory_disk: served %llu requests (%llu errors) with %llu io_uring_enter calls\n",
                 static_cast<unsigned long long>(requests), static_cast<unsigned long long>(errors),
                 static_cast<unsigned long long>(submits));
    return exit_code;
}
