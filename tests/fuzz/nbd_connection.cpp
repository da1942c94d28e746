// Fuzzes nbd::Connection (nbd/connection.cpp) as a client's socket sees it: the input is what a
// local NBD client writes, handshake and transmission phases alike, delivered through a real
// socketpair in chunks whose sizes come from the input, against an in-memory backend with a small
// I/O pool (so requests also wait for payload memory). Between chunks the loop runs one turn and
// the replies are read and dropped; at the end the client shuts down its side and the connection
// must finish, returning every slot and slice (ASan reports anything leaked).
//
// Nbd_request fuzzes the parser alone at far higher speed; this one covers the connection's own
// state: slots, payload slices, backpressure, replies, drain and teardown.
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>

#include "common/event_loop.hpp"
#include "common/log.hpp"
#include "common/memory_backend.hpp"
#include "nbd/connection.hpp"

using namespace iser;
using namespace std::chrono_literals;

namespace {

struct Owner final : nbd::ConnectionOwner {
    bool finished = false;
    void connection_finished(nbd::Connection&) override { finished = true; }
};

void one_turn(EventLoop& loop) {
    loop.add_timer(0ms, [&loop] { loop.stop(); });
    loop.run();
}

void drain_replies(int fd) {
    std::uint8_t sink[65536];
    while (::read(fd, sink, sizeof sink) > 0) {
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1 || size > 1 << 20) return 0;
    const std::uint8_t control = data[0];
    const std::uint8_t* stream = data + 1;
    const std::size_t stream_size = size - 1;

    auto loop = std::move(EventLoop::create().value());
    std::unique_ptr<std::FILE, int (*)(std::FILE*)> quiet(std::fopen("/dev/null", "w"), std::fclose);
    if (!quiet) std::abort();
    Logger log(LogLevel::Error, quiet.get());
    BlockGeometry g;
    g.size_bytes = 64 * 1024;  // the memory disk is made for every input
    g.logical_block_size = (control & 1) ? 4096 : 512;
    g.max_io_bytes = 8192;
    g.read_only = control & 2;
    g.discard = control & 4;
    g.volatile_cache = true;
    MemoryBackend backend(*loop, g, 16 * 1024);  // two largest requests: the pool runs out
    auto pool = backend.io_pool();
    if (!pool) std::abort();

    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv) != 0) std::abort();
    UniqueFd client(sv[1]);
    Owner owner;
    nbd::Connection::Limits limits;
    limits.pool = *pool;
    limits.slots = 1 + ((control >> 3) & 3);
    const bool transmission_only = control & 0x20;
    auto connection = std::make_shared<nbd::Connection>(*loop, backend, log, nbd::make_export_info(g, "lun0"),
                                                        UniqueFd(sv[0]), limits, 1, &owner, transmission_only);
    if (!connection->start()) std::abort();

    // Bytes written at a time (the parser's own fuzzer, nbd_request, splits at every byte).
    static constexpr std::size_t kChunks[] = {7, 64, 509, 4096};
    // At most about 32 loop turns per input: each costs a few system calls.
    const std::size_t chunk = std::max(kChunks[control >> 6], stream_size / 32);
    std::size_t pos = 0;
    int stalled = 0;
    while (pos < stream_size && !owner.finished && stalled < 64) {
        const std::size_t n = std::min(chunk, stream_size - pos);
        ssize_t w = ::write(client.get(), stream + pos, n);
        if (w > 0) {
            pos += std::size_t(w);
            stalled = 0;
        } else {
            ++stalled;  // the socket is full: the connection applies backpressure
        }
        one_turn(*loop);
        drain_replies(client.get());
    }
    // The client is done writing: whatever it left half sent, the connection must wind down.
    ::shutdown(client.get(), SHUT_WR);
    for (int turn = 0; turn < 256 && !owner.finished; ++turn) {
        one_turn(*loop);
        drain_replies(client.get());
    }
    if (!owner.finished) {
        client.reset();  // a client gone entirely
        for (int turn = 0; turn < 256 && !owner.finished; ++turn) one_turn(*loop);
    }
    if (!owner.finished) std::abort();  // a connection that never finishes holds its export slot forever
    if ((*pool)->stats().in_use != 0) std::abort();
    connection.reset();
    one_turn(*loop);
    return 0;
}
