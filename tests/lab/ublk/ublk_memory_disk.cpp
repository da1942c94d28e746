// ublk_memory_disk: a FRONTEND test tool, not end-to-end iSCSI. It creates a ublk device over
// a memory disk (no target, no network), prints /dev/ublkbN on stdout, serves it until SIGTERM
// or SIGINT, then stops and deletes the device. The lab scripts use it to exercise the ublk
// library (queues, data copies, discard, block sizes, teardown, user recovery) inside the 6.12
// VM. Not installed.
//
//   ublk_memory_disk [--size BYTES[K|M|G]] [--block-size 512|4096] [--queues N] [--depth N]
//                    [--max-io BYTES[K|M]] [--no-discard] [--backing FILE] [--latency-ms N]
//                    [--no-recovery | --no-reissue] [--record-dir DIR] [--debug]
//   ublk_memory_disk --recover ID [--backing FILE] [--wait-ms N] [--latency-ms N] [--record-dir DIR]
//   ublk_memory_disk --delete ID [--wait]       (a device whose server died; EIO to waiters)
//   ublk_memory_disk --list                     (every ublk device: id state pid flags cookie)
//
// --backing maps FILE (e.g. in /dev/shm) MAP_SHARED, so the data survives a SIGKILL; the
// device's record (ublk/device_record.hpp: cookie, size, backing file) goes to DIR/<id>.json
// (default /run/iser/ublk). --recover ID re-attaches a new process to the quiesced device ID
// using that record (the file may be given again; it must match), exactly as iserd will.
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
#include "ublk/device_query.hpp"
#include "ublk/device_record.hpp"
#include "ublk/device_state.hpp"
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
                 "                        [--max-io BYTES[K|M]] [--no-discard] [--backing FILE] [--latency-ms N]\n"
                 "                        [--no-recovery | --no-reissue] [--record-dir DIR] [--debug]\n"
                 "       ublk_memory_disk --recover ID [--backing FILE] [--wait-ms N] [--latency-ms N]\n"
                 "       ublk_memory_disk --delete ID [--wait]\n"
                 "       ublk_memory_disk --list\n");
    std::exit(2);
}

int fail(const std::string& message) {
    std::fprintf(stderr, "ublk_memory_disk: %s\n", message.c_str());
    return 1;
}

struct QueueThread {
    std::unique_ptr<EventLoop> loop;
    std::unique_ptr<lab::MemoryDiskBackend> backend;
    std::unique_ptr<ublk::Queue> queue;
    std::thread thread;
};

struct Options {
    std::uint64_t size = 256ull << 20, max_io = 1u << 20, block = 512, queues = 1, depth = 128;
    std::uint64_t latency_ms = 0, wait_ms = 40000;
    bool discard = true, recovery = true, reissue = true, wait_delete = false;
    std::string backing, record_dir = ublk::kRecordDir;
    int recover_id = -1, delete_id = -1;
    bool list = false;
};

BlockGeometry geometry_for(const Options& o) {
    BlockGeometry g;
    g.size_bytes = o.size;
    g.logical_block_size = std::uint32_t(o.block);
    g.physical_block_size = std::uint32_t(o.block);
    g.max_io_bytes = std::uint32_t(o.max_io);
    g.volatile_cache = true;
    g.fua = true;
    g.discard = o.discard;
    g.discard_granularity_bytes = std::uint32_t(o.block);
    g.write_zeroes = o.discard;
    g.name = o.backing.empty() ? "memory" : "memory:" + o.backing;
    return g;
}

// Serves `dev` until SIGTERM/SIGINT: one loop thread per queue, then START_DEV (new device) or
// END_USER_RECOVERY (recovered one), then STOP_DEV, queue shutdown, DEL_DEV.
int serve(ublk::Device& dev, lab::MemoryDisk& disk, const BlockGeometry& g, const Options& o, sigset_t& stop_signals,
          Logger& log) {
    std::vector<QueueThread> threads(dev.queues());
    std::vector<std::future<Status>> created;
    for (std::uint16_t q = 0; q < dev.queues(); ++q) {
        auto loop = EventLoop::create();
        if (!loop) return fail(loop.error().message);
        auto& t = threads[q];
        t.loop = std::move(loop.value());
        t.backend = std::make_unique<lab::MemoryDiskBackend>(*t.loop, disk, g, std::chrono::milliseconds(o.latency_ms));
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
            fail(st.error().message);
            all_created = false;
        }
    }

    int exit_code = 0;
    bool started = false;
    if (all_created) {
        // Both return once every queue's FETCH_REQs are in.
        const bool recovering = dev.recovering();
        auto st = recovering ? dev.end_recovery(getpid()) : dev.start(getpid());
        if (!st) {
            exit_code = fail(st.error().message);
        } else {
            started = true;
            ublk::DeviceRecord record;
            record.dev_id = dev.id();
            record.cookie = dev.cookie();
            record.size_bytes = g.size_bytes;
            record.logical_block_size = g.logical_block_size;
            record.queues = dev.queues();
            record.depth = dev.depth();
            record.pid = getpid();
            record.identity["backing"] = o.backing;
            record.identity["discard"] = o.discard ? "1" : "0";
            record.identity["max_io"] = std::to_string(g.max_io_bytes);
            if (auto w = ublk::write_record(o.record_dir, record); !w) fail(w.error().message);
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
        if (!st) exit_code = fail(st.error().message);
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
    if (!removed) exit_code = fail(removed.error().message);
    else (void)ublk::remove_record(o.record_dir, dev.id());
    std::fprintf(stderr, "ublk_memory_disk: served %llu requests (%llu errors) with %llu io_uring_enter calls\n",
                 static_cast<unsigned long long>(requests), static_cast<unsigned long long>(errors),
                 static_cast<unsigned long long>(submits));
    return exit_code;
}

int print_devices(ublk::Controller& controller) {
    auto devices = ublk::list_devices(controller);
    if (!devices) return fail(devices.error().message);
    for (const auto& d : *devices) {
        auto g = ublk::geometry_from_params(d.params);
        std::printf("%d %s pid=%d%s flags=0x%llx cookie=%016llx size=%llu queues=%u depth=%u\n", d.id(),
                    ublk::state_name(d.info.state).c_str(), int(d.info.ublksrv_pid), d.server_alive ? "" : "(gone)",
                    static_cast<unsigned long long>(d.info.flags), static_cast<unsigned long long>(d.cookie()),
                    static_cast<unsigned long long>(g.size_bytes), unsigned(d.info.nr_hw_queues),
                    unsigned(d.info.queue_depth));
    }
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    Options o;
    Logger log(LogLevel::Info);
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        auto value = [&](std::uint64_t& out) {
            if (i + 1 >= argc || !parse_size(argv[++i], out)) usage();
        };
        auto id = [&](int& out) {
            std::uint64_t v = 0;
            value(v);
            if (v > (1u << 20)) usage();
            out = int(v);
        };
        auto text = [&](std::string& out) {
            if (i + 1 >= argc) usage();
            out = argv[++i];
        };
        if (a == "--size") value(o.size);
        else if (a == "--block-size") value(o.block);
        else if (a == "--queues") value(o.queues);
        else if (a == "--depth") value(o.depth);
        else if (a == "--max-io") value(o.max_io);
        else if (a == "--latency-ms") value(o.latency_ms);
        else if (a == "--wait-ms") value(o.wait_ms);
        else if (a == "--no-discard") o.discard = false;
        else if (a == "--no-recovery") o.recovery = false;
        else if (a == "--no-reissue") o.reissue = false;
        else if (a == "--backing") text(o.backing);
        else if (a == "--record-dir") text(o.record_dir);
        else if (a == "--recover") id(o.recover_id);
        else if (a == "--delete") id(o.delete_id);
        else if (a == "--wait") o.wait_delete = true;
        else if (a == "--list") o.list = true;
        else if (a == "--debug") log.set_level(LogLevel::Debug);
        else usage();
    }
    if (o.queues == 0 || o.queues > 64 || o.depth == 0 || o.depth > 4096 || o.max_io > (1u << 30)) usage();

    auto controller = ublk::Controller::open();
    if (!controller) return fail(controller.error().message);
    if (o.list) return print_devices(**controller);
    if (o.delete_id >= 0) {
        auto st = ublk::Device::delete_stale(**controller, o.delete_id, log, o.wait_delete);
        if (!st) return fail(st.error().message);
        (void)ublk::remove_record(o.record_dir, o.delete_id);
        return 0;
    }

    // Signals are taken synchronously by main; every thread inherits the blocked mask.
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGTERM);
    sigaddset(&stop_signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

    if (o.recover_id >= 0) {
        // The record says what the device was made of; what is given again must agree with it.
        auto record = ublk::read_record(o.record_dir, o.recover_id);
        if (!record) return fail(record.error().message);
        const std::string recorded_backing = record->identity["backing"];
        if (o.backing.empty()) o.backing = recorded_backing;
        if (o.backing != recorded_backing)
            return fail("--backing " + o.backing + " is not the recorded " + recorded_backing);
        if (o.backing.empty()) return fail("ublk device " + std::to_string(o.recover_id) +
                                           " had no backing file: its data died with its server");
        o.size = record->size_bytes;
        o.block = record->logical_block_size;
        o.discard = record->identity["discard"] != "0";
        if (auto m = record->identity["max_io"]; !m.empty()) o.max_io = std::stoull(m);
        lab::MemoryDisk disk(o.backing.c_str(), 0);
        if (!disk.ok()) return fail("cannot map " + o.backing);
        if (disk.size() != o.size)
            return fail(o.backing + " holds " + std::to_string(disk.size()) + " bytes, the record says " +
                        std::to_string(o.size));
        const BlockGeometry g = geometry_for(o);
        ublk::Device::RecoveryOptions options;
        options.wait = std::chrono::milliseconds(o.wait_ms);
        options.expected_cookie = record->cookie;
        auto device = ublk::Device::open_for_recovery(**controller, o.recover_id, g, log, options);
        if (!device) return fail(device.error().message);
        return serve(**device, disk, g, o, stop_signals, log);
    }

    ublk::DeviceConfig config;
    config.queues = std::uint16_t(o.queues);
    config.depth = std::uint16_t(o.depth);
    config.geometry = geometry_for(o);
    config.user_recovery = o.recovery;
    config.reissue = o.reissue;
    config.cookie = ublk::new_device_cookie();
    std::unique_ptr<lab::MemoryDisk> disk = o.backing.empty() ? std::make_unique<lab::MemoryDisk>(o.size)
                                                              : std::make_unique<lab::MemoryDisk>(o.backing.c_str(), o.size);
    if (!disk->ok()) return fail("cannot map " + std::to_string(o.size) + " bytes" + (o.backing.empty() ? "" : " of " + o.backing));
    auto device = ublk::Device::create(**controller, config, log);
    if (!device) return fail(device.error().message);
    return serve(**device, *disk, config.geometry, o, stop_signals, log);
}
