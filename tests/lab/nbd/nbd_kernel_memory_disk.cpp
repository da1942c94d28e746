// nbd_kernel_memory_disk: a FRONTEND test tool, not end-to-end iSCSI. It serves a memory disk
// (common/MemoryBackend: no target, no network) as /dev/nbdN through the kernel NBD driver
// (nbd/KernelNbd + NbdServer over socketpairs), prints /dev/nbdN on stdout, serves until
// SIGTERM or SIGINT, then disconnects the device and exits 0. The lab suite
// tests/lab/nbd/suite.sh uses it inside the 6.12 VM (the host has no nbd module). Not installed.
//
//   nbd_kernel_memory_disk [--size BYTES[K|M|G]] [--block-size 512|4096] [--connections N]
//                          [--max-io BYTES[K|M]] [--index N] [--no-discard] [--debug]
//
// Threads, as iserd uses the pieces: main is the control thread (KernelNbd::connect and
// disconnect, signals); one loop thread owns the EventLoop, the MemoryBackend and the
// NbdServer, and every call into them is posted to it.
#include <signal.h>

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
#include "common/memory_backend.hpp"
#include "nbd/kernel_nbd.hpp"
#include "nbd/server.hpp"

using namespace iser;

namespace {

bool parse_number(const char* text, std::uint64_t& out) {
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
                 "usage: nbd_kernel_memory_disk [--size BYTES[K|M|G]] [--block-size 512|4096] [--connections N]\n"
                 "                              [--max-io BYTES[K|M]] [--index N] [--no-discard] [--debug]\n");
    std::exit(2);
}

// Runs `task` on the loop thread and waits for its result.
template <class F>
auto on_loop(EventLoop& loop, F task) -> decltype(task()) {
    auto done = std::make_shared<std::promise<decltype(task())>>();
    auto result = done->get_future();
    loop.post([done, &task] {
        if constexpr (std::is_void_v<decltype(task())>) {
            task();
            done->set_value();
        } else {
            done->set_value(task());
        }
    });
    return result.get();
}

}  // namespace

int main(int argc, char** argv) {
    std::uint64_t size = 256ull << 20, block = 512, connections = 1, max_io = 1u << 20, index = ~0ull;
    bool discard = true;
    Logger log(LogLevel::Info);
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        auto value = [&](std::uint64_t& out) {
            if (i + 1 >= argc || !parse_number(argv[++i], out)) usage();
        };
        if (a == "--size") value(size);
        else if (a == "--block-size") value(block);
        else if (a == "--connections") value(connections);
        else if (a == "--max-io") value(max_io);
        else if (a == "--index") value(index);
        else if (a == "--no-discard") discard = false;
        else if (a == "--debug") log.set_level(LogLevel::Debug);
        else usage();
    }
    if (connections == 0 || connections > nbd::kMaxKernelNbdConnections || max_io > (64u << 20)) usage();

    // Signals are taken synchronously by main; the loop thread inherits the blocked mask.
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGTERM);
    sigaddset(&stop_signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

    BlockGeometry g;
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

    auto created = EventLoop::create();
    if (!created) {
        std::fprintf(stderr, "nbd_kernel_memory_disk: %s\n", created.error().message.c_str());
        return 1;
    }
    EventLoop& loop = **created;
    MemoryBackend backend(loop, g);
    std::unique_ptr<NbdServer> server;
    std::thread loop_thread([&] { loop.run(); });

    auto made = on_loop(loop, [&]() -> Status {
        NbdServerConfig sc;
        sc.export_name = "memory";
        sc.max_connections = std::uint32_t(connections);
        auto s = NbdServer::create(loop, backend, log, sc);
        if (!s) return s.take_error();
        server = std::move(*s);
        return {};
    });

    int exit_code = 0;
    std::unique_ptr<nbd::KernelNbd> device;
    if (!made) {
        std::fprintf(stderr, "nbd_kernel_memory_disk: %s\n", made.error().message.c_str());
        exit_code = 1;
    } else {
        nbd::KernelNbdConfig kc;
        kc.connections = std::uint32_t(connections);
        kc.index = index == ~0ull ? -1 : int(index);
        kc.size_bytes = size;
        kc.block_size = std::uint32_t(block);
        kc.server_flags = server->export_info().transmission_flags;
        kc.max_io_bytes = server->export_info().block_sizes.maximum;
        kc.backend_identifier = "nbd_kernel_memory_disk";
        // The server ends go to the loop thread; connect() waits for them to be served.
        auto serve = [&](std::vector<UniqueFd> fds) -> Status {
            return on_loop(loop, [&]() -> Status {
                for (auto& fd : fds) ISER_TRY(server->serve_connected(std::move(fd), true));
                return {};
            });
        };
        auto connected = nbd::KernelNbd::connect(kc, serve, log);
        if (!connected) {
            std::fprintf(stderr, "nbd_kernel_memory_disk: %s\n", connected.error().message.c_str());
            exit_code = connected.error().code == ENODEV ? 77 : 1;
        } else {
            device = std::move(*connected);
            std::printf("%s\n", device->device_path().c_str());
            std::fflush(stdout);
            int sig = 0;
            sigwait(&stop_signals, &sig);
            // Control thread: the kernel's DISC and socket shutdown need the loop to keep running.
            auto st = device->disconnect();
            if (!st) {
                std::fprintf(stderr, "nbd_kernel_memory_disk: %s\n", st.error().message.c_str());
                exit_code = 1;
            }
        }
    }

    // The kernel closed its ends; close() ends whatever connection is still open once its
    // requests are answered. Wait for every connection to finish before the loop stops.
    if (server) on_loop(loop, [&] { server->close(); });
    for (int i = 0; i < 500 && server && on_loop(loop, [&] { return server->connection_count(); }) > 0; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    std::size_t left = server ? on_loop(loop, [&] { return server->connection_count(); }) : 0;
    if (left) {
        std::fprintf(stderr, "nbd_kernel_memory_disk: %zu connection(s) still open after disconnect\n", left);
        exit_code = exit_code ? exit_code : 1;
    }
    on_loop(loop, [&] {
        server.reset();
        loop.stop();
    });
    loop_thread.join();
    device.reset();
    std::fprintf(stderr, "nbd_kernel_memory_disk: done, %llu flushes served\n",
                 static_cast<unsigned long long>(backend.flushes()));
    return exit_code;
}
