// Test helper (not installed): serves a MemoryBackend of a given size over an NBD unix socket,
// so NBD clients (nbdinfo, nbdcopy, qemu-img, fio) can exercise the frontend on a memory disk.
// Usage: nbd_memory_server SOCKET_PATH EXPORT_NAME SIZE_MIB [LOGICAL_BLOCK_SIZE]
// Runs until SIGTERM/SIGINT, then closes the server (unlinking the socket).
#include <signal.h>
#include <sys/signalfd.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "common/memory_backend.hpp"
#include "nbd/server.hpp"

int main(int argc, char** argv) {
    using namespace iser;
    if (argc < 4) {
        std::fprintf(stderr, "usage: %s SOCKET_PATH EXPORT_NAME SIZE_MIB [LOGICAL_BLOCK_SIZE]\n", argv[0]);
        return 2;
    }
    Logger log(std::getenv("NBD_DEBUG") ? LogLevel::Debug : LogLevel::Info);
    auto loop_result = EventLoop::create();
    if (!loop_result) {
        std::fprintf(stderr, "event loop: %s\n", loop_result.error().message.c_str());
        return 1;
    }
    auto loop = std::move(*loop_result);

    BlockGeometry g;
    g.size_bytes = std::strtoull(argv[3], nullptr, 10) << 20;
    g.logical_block_size = argc > 4 ? std::uint32_t(std::strtoul(argv[4], nullptr, 10)) : 512;
    g.physical_block_size = 4096;
    g.max_io_bytes = 1u << 20;
    g.volatile_cache = true;
    g.fua = true;
    g.discard = true;
    g.write_zeroes = true;
    g.name = "memory disk";
    MemoryBackend backend(*loop, g);

    auto server = NbdServer::create(*loop, backend, log, {argv[1], argv[2], std::nullopt, 16, 0});
    if (!server) {
        std::fprintf(stderr, "nbd server: %s\n", server.error().message.c_str());
        return 1;
    }

    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGINT);
    sigprocmask(SIG_BLOCK, &signals, nullptr);
    UniqueFd sfd(signalfd(-1, &signals, SFD_CLOEXEC | SFD_NONBLOCK));
    auto st = loop->add_fd(sfd.get(), 0x001 /* EPOLLIN */, [&](std::uint32_t) {
        (*server)->close();
        loop->stop();
    });
    if (!st) return 1;
    std::printf("ready\n");
    std::fflush(stdout);
    loop->run();
    loop->remove_fd(sfd.get());
    server->reset();
    return 0;
}
