// NbdServer on a memory disk, driven by a blocking client written here, running on a second
// thread while the test thread runs the event loop.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <deque>
#include <map>
#include <memory>
#include <thread>
#include <vector>

#include "common/memory_backend.hpp"
#include "nbd/server.hpp"
#include "nbd/unix_listener.hpp"

using namespace iser;
using namespace iser::nbd;

namespace {

BlockGeometry geometry() {
    BlockGeometry g;
    g.size_bytes = 4 << 20;
    g.logical_block_size = 512;
    g.physical_block_size = 512;
    g.max_io_bytes = 128 * 1024;
    g.volatile_cache = true;
    g.fua = true;
    g.discard = true;
    g.write_zeroes = true;
    g.max_write_zeroes_bytes = 64 * 1024;  // forces WRITE_ZEROES to be split
    g.name = "test disk";
    return g;
}

// Holds completions: in reverse order at the next loop turn, or until release() when held.
class ReorderingBackend final : public BlockBackend {
public:
    ReorderingBackend(EventLoop& loop, BlockGeometry g, std::size_t pool_bytes = 0)
        : loop_(loop), memory_(loop, std::move(g), pool_bytes), inner_(*this) {}
    const BlockGeometry& geometry() const override { return memory_.geometry(); }
    Result<IoMemory> allocate_io_memory(std::size_t bytes) override { return memory_.allocate_io_memory(bytes); }
    Result<IoSlicePool*> io_pool() override { return memory_.io_pool(); }
    std::uint32_t queue_depth() const override { return 8; }
    void submit(BlockRequest& r) override {
        ++submitted;
        pending_.push_front(&r);
        if (!hold && !scheduled_) {
            scheduled_ = true;
            loop_.add_timer(std::chrono::milliseconds(2), [this] { release(); });
        }
    }
    // Executes every pending request on the memory disk, newest first.
    void release() {
        scheduled_ = false;
        auto batch = std::move(pending_);
        pending_.clear();
        for (auto* r : batch) {
            BlockCompletion* owner = r->owner;
            inner_.original.push_back({r, owner});
            r->owner = &inner_;
            memory_.submit(*r);
        }
    }
    std::size_t pending() const { return pending_.size(); }
    const std::vector<std::uint8_t>& contents() const { return memory_.contents(); }
    bool hold = false;
    int submitted = 0;

private:
    struct Relay final : BlockCompletion {
        explicit Relay(ReorderingBackend&) {}
        std::vector<std::pair<BlockRequest*, BlockCompletion*>> original;
        void complete(BlockRequest& r, int result) override {
            for (auto it = original.begin(); it != original.end(); ++it) {
                if (it->first == &r) {
                    r.owner = it->second;
                    original.erase(it);
                    r.owner->complete(r, result);
                    return;
                }
            }
        }
    };
    EventLoop& loop_;
    MemoryBackend memory_;
    std::deque<BlockRequest*> pending_;
    bool scheduled_ = false;
    Relay inner_;
};

class Client {
public:
    explicit Client(int fd) : fd_(fd) {}
    bool read_exact(void* p, std::size_t n) {
        auto* b = static_cast<std::uint8_t*>(p);
        while (n) {
            ssize_t r = ::read(fd_.get(), b, n);
            if (r <= 0) return false;
            b += r;
            n -= std::size_t(r);
        }
        return true;
    }
    bool write_all(const void* p, std::size_t n) {
        auto* b = static_cast<const std::uint8_t*>(p);
        while (n) {
            ssize_t r = ::send(fd_.get(), b, n, MSG_NOSIGNAL);
            if (r <= 0) return false;
            b += r;
            n -= std::size_t(r);
        }
        return true;
    }
    // Fixed newstyle + GO asking for block sizes; fills size/flags/block sizes.
    bool go(std::string_view name) {
        std::uint8_t greeting[kServerGreetingSize];
        if (!read_exact(greeting, sizeof greeting)) return false;
        if (load_be64(greeting) != kNbdMagic || load_be16(greeting + 16) != 3) return false;
        std::uint8_t flags[4];
        store_be32(flags, kClientFlagFixedNewstyle | kClientFlagNoZeroes);
        std::vector<std::uint8_t> data(4 + name.size() + 4);
        store_be32(data.data(), std::uint32_t(name.size()));
        std::memcpy(data.data() + 4, name.data(), name.size());
        store_be16(data.data() + 4 + name.size(), 1);
        store_be16(data.data() + 6 + name.size(), kInfoBlockSize);
        std::uint8_t header[kOptionHeaderSize];
        encode_option_header(header, {kOptGo, std::uint32_t(data.size())});
        if (!write_all(flags, 4) || !write_all(header, 16) || !write_all(data.data(), data.size())) return false;
        for (;;) {
            std::uint8_t rep[kOptionReplyHeaderSize];
            if (!read_exact(rep, sizeof rep)) return false;
            std::uint32_t type = load_be32(rep + 12), len = load_be32(rep + 16);
            std::vector<std::uint8_t> body(len);
            if (!read_exact(body.data(), len)) return false;
            last_reply = type;
            if (type == kRepAck) return true;
            if (type & 0x80000000u) return false;
            std::uint16_t info = load_be16(body.data());
            if (info == kInfoExport) {
                size = load_be64(body.data() + 2);
                transmission_flags = load_be16(body.data() + 10);
            } else if (info == kInfoBlockSize) {
                block_min = load_be32(body.data() + 2);
                block_preferred = load_be32(body.data() + 6);
                block_max = load_be32(body.data() + 10);
            }
        }
    }
    bool send(std::uint16_t type, std::uint64_t handle, std::uint64_t offset, std::uint32_t length,
              const std::uint8_t* payload = nullptr, std::uint16_t flags = 0, bool track = true) {
        std::uint8_t r[kRequestSize];
        encode_request(r, {flags, type, handle, offset, length});
        if (type == kCmdRead && track) read_lengths[handle] = length;
        return write_all(r, sizeof r) && (!payload || write_all(payload, length));
    }
    // Reads one reply; a successful READ's data goes to `data`.
    bool reply(std::uint64_t& handle, std::uint32_t& error, std::vector<std::uint8_t>* data = nullptr) {
        std::uint8_t r[kSimpleReplySize];
        if (!read_exact(r, sizeof r) || load_be32(r) != kSimpleReplyMagic) return false;
        error = load_be32(r + 4);
        handle = load_be64(r + 8);
        auto it = read_lengths.find(handle);
        if (it != read_lengths.end() && error == 0) {
            std::vector<std::uint8_t> buf(it->second);
            if (!read_exact(buf.data(), buf.size())) return false;
            if (data) *data = std::move(buf);
        }
        if (it != read_lengths.end()) read_lengths.erase(it);
        return true;
    }
    void close() { fd_.reset(); }
    int fd() const { return fd_.get(); }

    std::uint64_t size = 0;
    std::uint16_t transmission_flags = 0;
    std::uint32_t block_min = 0, block_preferred = 0, block_max = 0, last_reply = 0;
    std::map<std::uint64_t, std::uint32_t> read_lengths;

private:
    UniqueFd fd_;
};

std::vector<std::uint8_t> pattern(std::size_t n, std::uint8_t seed) {
    std::vector<std::uint8_t> v(n);
    for (std::size_t i = 0; i < n; ++i) v[i] = std::uint8_t(seed + i * 7 + (i >> 9));
    return v;
}

// Runs `client` on another thread while this thread runs the loop.
template <class F>
void with_client(EventLoop& loop, F client) {
    std::thread t([&] {
        client();
        loop.stop();
    });
    loop.run();
    t.join();
}

struct Fixture {
    Logger log{LogLevel::Warning};
    std::unique_ptr<EventLoop> loop = std::move(EventLoop::create().value());
    ReorderingBackend backend;
    std::unique_ptr<NbdServer> server;
    // pool_bytes: the backend's I/O memory (0: plenty); slots: requests in flight per connection.
    explicit Fixture(std::size_t pool_bytes = 0, std::uint32_t slots = 4) : backend(*loop, geometry(), pool_bytes) {
        auto s = NbdServer::create(*loop, backend, log, {"", "lun0", std::nullopt, 4, slots});
        REQUIRE(s);
        server = std::move(*s);
    }
    Client connect() {
        int sv[2];
        REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
        REQUIRE(::fcntl(sv[0], F_SETFL, O_NONBLOCK) == 0);
        REQUIRE(server->serve_connected(UniqueFd(sv[0])));
        return Client(sv[1]);
    }
};

}  // namespace

TEST_CASE("GO reports size, flags and block sizes; data round trips") {
    Fixture f;
    Client c = f.connect();
    with_client(*f.loop, [&] {
        REQUIRE(c.go("lun0"));
        CHECK(c.size == 4u << 20);
        CHECK(c.transmission_flags == (kFlagHasFlags | kFlagSendFlush | kFlagSendFua | kFlagSendTrim |
                                       kFlagSendWriteZeroes | kFlagCanMultiConn));
        CHECK(c.block_min == 512u);
        CHECK(c.block_preferred == 4096u);
        CHECK(c.block_max == 128u * 1024);
        auto data = pattern(128 * 1024, 3);
        std::uint64_t h;
        std::uint32_t e;
        std::vector<std::uint8_t> got;
        CHECK(c.send(kCmdWrite, 1, 8192, std::uint32_t(data.size()), data.data(), kCmdFlagFua));
        CHECK((c.reply(h, e) && h == 1 && e == 0));
        CHECK(c.send(kCmdRead, 2, 8192, std::uint32_t(data.size())));
        CHECK((c.reply(h, e, &got) && h == 2 && e == 0));
        CHECK(got == data);
        CHECK(c.send(kCmdFlush, 3, 0, 0));
        CHECK((c.reply(h, e) && h == 3 && e == 0));
        // 200 KiB of zeroes: over max_write_zeroes_bytes, split by the server.
        CHECK(c.send(kCmdWriteZeroes, 4, 8192, 100 * 1024, nullptr, kCmdFlagNoHole));
        CHECK((c.reply(h, e) && h == 4 && e == 0));
        CHECK(c.send(kCmdRead, 5, 8192, 128 * 1024));
        CHECK((c.reply(h, e, &got) && e == 0));
        CHECK(std::all_of(got.begin(), got.begin() + 100 * 1024, [](auto b) { return b == 0; }));
        CHECK(std::equal(got.begin() + 100 * 1024, got.end(), data.begin() + 100 * 1024));
        CHECK(c.send(kCmdTrim, 6, 0, 4 << 20));
        CHECK((c.reply(h, e) && h == 6 && e == 0));
        CHECK(c.send(kCmdDisc, 7, 0, 0));
        char byte;
        CHECK(::read(c.fd(), &byte, 1) == 0);  // the server closes after DISC
    });
    CHECK(f.server->connection_count() == 0u);
    CHECK(std::all_of(f.backend.contents().begin(), f.backend.contents().end(), [](auto b) { return b == 0; }));
}

TEST_CASE("many requests in flight complete out of order; slots apply backpressure") {
    Fixture f;
    Client c = f.connect();
    constexpr int kRequests = 64;  // with 4 slots per connection
    with_client(*f.loop, [&] {
        REQUIRE(c.go(""));
        std::vector<std::vector<std::uint8_t>> data;
        for (int i = 0; i < kRequests; ++i) data.push_back(pattern(4096, std::uint8_t(i)));
        // Writes pipelined without reading replies, from another thread so neither side blocks.
        for (int i = 0; i < kRequests; ++i) c.read_lengths[2000 + i] = 4096;  // before the writer starts
        std::thread writer([&] {
            for (int i = 0; i < kRequests; ++i)
                c.send(kCmdWrite, 1000 + i, std::uint64_t(i) * 4096, 4096, data[i].data(), 0, false);
            for (int i = 0; i < kRequests; ++i) c.send(kCmdRead, 2000 + i, std::uint64_t(i) * 4096, 4096, nullptr, 0, false);
        });
        std::vector<std::uint64_t> order;
        std::map<std::uint64_t, std::vector<std::uint8_t>> reads;
        for (int i = 0; i < 2 * kRequests; ++i) {
            std::uint64_t h;
            std::uint32_t e;
            std::vector<std::uint8_t> got;
            if (!c.reply(h, e, &got)) break;
            CHECK(e == 0u);
            order.push_back(h);
            if (h >= 2000) reads[h] = std::move(got);
        }
        writer.join();
        REQUIRE(order.size() == 2u * kRequests);
        CHECK_FALSE(std::is_sorted(order.begin(), order.begin() + kRequests));  // reordered
        int matched = 0;
        for (int i = 0; i < kRequests; ++i) matched += reads[2000 + i] == data[i];
        CHECK(matched == kRequests);
    });
}

TEST_CASE("bad requests get errors without reaching the backend") {
    Fixture f;
    Client c = f.connect();
    with_client(*f.loop, [&] {
        REQUIRE(c.go("lun0"));
        int before = f.backend.submitted;
        std::uint64_t h;
        std::uint32_t e;
        std::vector<std::uint8_t> junk(1024);
        c.send(kCmdRead, 1, 100, 512);                     // misaligned
        c.send(kCmdRead, 2, 4 << 20, 512);                 // past the end
        c.send(kCmdWrite, 3, 0, 1000, junk.data());        // misaligned length: payload still consumed
        c.send(kCmdCache, 4, 0, 512);                      // not advertised
        c.send(kCmdRead, 5, 0, 512);                       // fine: the stream is still in sync
        std::map<std::uint64_t, std::uint32_t> errors;
        for (int i = 0; i < 5; ++i) {
            std::vector<std::uint8_t> got;
            REQUIRE(c.reply(h, e, &got));
            errors[h] = e;
        }
        CHECK(errors[1] == kErrInval);
        CHECK(errors[2] == kErrInval);
        CHECK(errors[3] == kErrInval);
        CHECK(errors[4] == kErrInval);
        CHECK(errors[5] == 0u);
        CHECK(f.backend.submitted == before + 1);
        // A protocol violation closes this connection only.
        std::uint8_t garbage[kRequestSize] = {1, 2, 3};
        c.write_all(garbage, sizeof garbage);
        char byte;
        CHECK(::read(c.fd(), &byte, 1) == 0);
    });
    CHECK(f.server->connection_count() == 0u);
}

TEST_CASE("unknown export and option replies") {
    Fixture f;
    Client c = f.connect();
    with_client(*f.loop, [&] {
        CHECK_FALSE(c.go("other"));
        CHECK(c.last_reply == kRepErrUnknown);
    });
}

TEST_CASE("client disconnect with requests in flight; server destroyed with requests in flight") {
    Fixture f;
    f.backend.hold = true;
    Client c1 = f.connect();
    Client c2 = f.connect();
    with_client(*f.loop, [&] {
        REQUIRE(c1.go("lun0"));
        REQUIRE(c2.go("lun0"));
        for (int i = 0; i < 4; ++i) c1.send(kCmdRead, i, std::uint64_t(i) * 512, 512);
        for (int i = 0; i < 4; ++i) c2.send(kCmdRead, i, std::uint64_t(i) * 512, 512);
        c1.close();
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    });
    CHECK(f.backend.pending() == 8u);
    CHECK(f.server->connection_count() == 2u);  // c1 is closed but waits for its completions
    // Destroy the server while c2's requests are still in the backend, then complete them all.
    f.server.reset();
    f.backend.hold = false;
    f.loop->defer([&] { f.backend.release(); });
    f.loop->add_timer(std::chrono::milliseconds(50), [&] { f.loop->stop(); });
    f.loop->run();
    CHECK(f.backend.pending() == 0u);
    std::uint64_t h;
    std::uint32_t e;
    std::vector<std::uint8_t> got;
    int replies = 0;
    while (c2.reply(h, e, &got)) ++replies;  // replies sent, then the drained connection closed
    CHECK(replies == 4);
}

TEST_CASE("unix socket: a symlink swapped in at the path before the socket is in place never gets its owner or mode") {
    char dir_template[] = "/tmp/nbd-test-XXXXXX";
    REQUIRE(::mkdtemp(dir_template));
    const std::string dir = dir_template, path = dir + "/s", victim = dir + "/victim";
    int v = ::open(victim.c_str(), O_CREAT | O_WRONLY, 0644);
    REQUIRE(v >= 0);
    ::close(v);
    REQUIRE(::chmod(victim.c_str(), 0644) == 0);
    // What a user of the socket's directory would do in the window between bind() and the
    // owner and mode being set: put a symlink to another file at the socket's path.
    auto listener = nbd::listen_unix(path, ::getgid(), 4, [&] {
        ::unlink(path.c_str());
        REQUIRE(::symlink(victim.c_str(), path.c_str()) == 0);
    });
    REQUIRE(listener);
    struct stat st {};
    REQUIRE(::stat(victim.c_str(), &st) == 0);
    CHECK((st.st_mode & 07777) == 0644u);  // the victim kept its mode
    REQUIRE(::lstat(path.c_str(), &st) == 0);
    CHECK(S_ISSOCK(st.st_mode));  // the socket replaced the symlink
    CHECK((st.st_mode & 07777) == 0660u);
    CHECK(st.st_ino == listener->ino);
    listener->fd.reset();
    nbd::unlink_unix_listener(path, listener->dev, listener->ino);
    ::unlink(victim.c_str());
    CHECK(::rmdir(dir.c_str()) == 0);  // nothing left behind: no private directory either
}

TEST_CASE("unix socket: mode 0600, stale socket replaced, non-socket refused, unlinked on close") {
    char dir_template[] = "/tmp/nbd-test-XXXXXX";
    REQUIRE(::mkdtemp(dir_template));
    std::string dir = dir_template, path = dir + "/s";
    Logger log{LogLevel::Warning};
    auto loop = std::move(EventLoop::create().value());
    MemoryBackend backend(*loop, geometry());
    {
        // A stale socket file: bound, then its socket closed.
        int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        std::strcpy(addr.sun_path, path.c_str());
        REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
        ::close(fd);
    }
    auto server = NbdServer::create(*loop, backend, log, {path, "lun0", std::nullopt, 16, 2});
    REQUIRE(server);
    struct stat st {};
    REQUIRE(::lstat(path.c_str(), &st) == 0);
    CHECK(S_ISSOCK(st.st_mode));
    CHECK((st.st_mode & 07777) == 0600u);
    // A second server on the same live socket is refused.
    auto second = NbdServer::create(*loop, backend, log, {path, "lun0", std::nullopt, 16, 2});
    REQUIRE_FALSE(second);
    CHECK(second.error().code == EADDRINUSE);
    // A real client over the path.
    int cfd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strcpy(addr.sun_path, path.c_str());
    REQUIRE(::connect(cfd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    Client c(cfd);
    with_client(*loop, [&] {
        REQUIRE(c.go("lun0"));
        auto data = pattern(4096, 9);
        std::uint64_t h;
        std::uint32_t e;
        std::vector<std::uint8_t> got;
        c.send(kCmdWrite, 1, 0, 4096, data.data());
        CHECK((c.reply(h, e) && e == 0));
        c.send(kCmdRead, 2, 0, 4096);
        CHECK((c.reply(h, e, &got) && got == data));
    });
    (*server)->close();
    CHECK(::lstat(path.c_str(), &st) != 0);
    server->reset();
    // A regular file in the way is never removed.
    int file = ::open(path.c_str(), O_CREAT | O_WRONLY, 0600);
    ::close(file);
    auto refused = NbdServer::create(*loop, backend, log, {path, "lun0", std::nullopt, 16, 2});
    REQUIRE_FALSE(refused);
    CHECK(refused.error().code == EEXIST);
    ::unlink(path.c_str());
    ::rmdir(dir.c_str());
}

TEST_CASE("serve_connected in transmission-only mode: no handshake, replies from the first request") {
    Fixture f;
    int sv[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
    REQUIRE(::fcntl(sv[0], F_SETFL, O_NONBLOCK) == 0);
    REQUIRE(f.server->serve_connected(UniqueFd(sv[0]), true));
    Client c(sv[1]);
    with_client(*f.loop, [&] {
        auto data = pattern(64 * 1024, 9);
        std::uint64_t h;
        std::uint32_t e;
        std::vector<std::uint8_t> got;
        // The first bytes the server sends are a simple reply, not the NBDMAGIC greeting.
        CHECK(c.send(kCmdWrite, 11, 4096, std::uint32_t(data.size()), data.data()));
        CHECK((c.reply(h, e) && h == 11 && e == 0));
        CHECK(c.send(kCmdRead, 12, 4096, std::uint32_t(data.size())));
        CHECK((c.reply(h, e, &got) && h == 12 && e == 0));
        CHECK(got == data);
        CHECK(c.send(kCmdRead, 13, 3, 512));  // still validated against the export
        CHECK((c.reply(h, e) && h == 13 && e == kErrInval));
        CHECK(c.send(kCmdDisc, 14, 0, 0));
        char byte;
        CHECK(::read(c.fd(), &byte, 1) == 0);
    });
    auto expect = pattern(64 * 1024, 9);
    CHECK(std::equal(expect.begin(), expect.end(), f.backend.contents().begin() + 4096));
}

TEST_CASE("payload memory comes from the lane's pool: an idle connection holds none, a full pool makes requests wait") {
    // 192 KiB of pool for 2 connections x 32 slots x 64 KiB requests (each connection's share is
    // one request of the largest size, 128 KiB): most of them must wait.
    Fixture f(192 * 1024, 32);
    IoSlicePool& pool = *f.backend.io_pool().value();
    Client a = f.connect();
    Client b = f.connect();
    constexpr int kRequests = 24;
    constexpr std::uint32_t kLength = 64 * 1024;
    std::size_t idle_in_use = 99;
    with_client(*f.loop, [&] {
        REQUIRE(a.go(""));
        REQUIRE(b.go(""));
        idle_in_use = pool.stats().in_use;  // read on the client thread: the loop is idle here
        auto run = [&](Client& c, std::uint64_t first_block) {
            std::vector<std::vector<std::uint8_t>> data;
            for (int i = 0; i < kRequests; ++i) data.push_back(pattern(kLength, std::uint8_t(first_block + i)));
            for (int i = 0; i < kRequests; ++i) c.read_lengths[2000 + i] = kLength;
            std::thread writer([&] {
                for (int i = 0; i < kRequests; ++i)
                    c.send(kCmdWrite, 1000 + i, (first_block + i) * kLength, kLength, data[i].data(), 0, false);
                for (int i = 0; i < kRequests; ++i)
                    c.send(kCmdRead, 2000 + i, (first_block + i) * kLength, kLength, nullptr, 0, false);
            });
            int good = 0;
            for (int i = 0; i < 2 * kRequests; ++i) {
                std::uint64_t h;
                std::uint32_t e;
                std::vector<std::uint8_t> got;
                if (!c.reply(h, e, &got)) break;
                good += e == 0 && (h < 2000 || got == data[h - 2000]);
            }
            writer.join();
            return good;
        };
        int good_a = 0, good_b = 0;
        std::thread tb([&] { good_b = run(b, 0); });
        good_a = run(a, kRequests);
        tb.join();
        CHECK(good_a == 2 * kRequests);
        CHECK(good_b == 2 * kRequests);
    });
    CHECK(idle_in_use == 0u);
    CHECK(pool.stats().in_use == 0u);       // every slice came back
    CHECK(pool.stats().waits > 0u);         // the pool was full and requests waited
    CHECK(pool.stats().peak <= pool.capacity());
}

TEST_CASE("a client that stops reading its replies holds at most its share of the pool; others go on") {
    // 1 MiB of pool: a connection's share is a quarter, 256 KiB (two 128 KiB READs).
    Fixture f(1024 * 1024, 32);
    IoSlicePool& pool = *f.backend.io_pool().value();
    Client stuck = f.connect();
    Client other = f.connect();
    constexpr std::uint32_t kLength = 128 * 1024;
    std::size_t stuck_peak = 0;
    int good = 0;
    with_client(*f.loop, [&] {
        REQUIRE(stuck.go(""));
        REQUIRE(other.go(""));
        // Shrink the stuck client's receive buffer so its replies back up in the server.
        int small = 4096;
        ::setsockopt(stuck.fd(), SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
        for (int i = 0; i < 24; ++i) REQUIRE(stuck.send(kCmdRead, 100 + i, std::uint64_t(i) * kLength, kLength));
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        stuck_peak = pool.stats().in_use;  // only the stuck client has I/O now
        // The other client still gets all of its requests through.
        auto data = pattern(kLength, 9);
        for (int i = 0; i < 16; ++i) {
            std::uint64_t h;
            std::uint32_t e;
            std::vector<std::uint8_t> got;
            REQUIRE(other.send(kCmdWrite, 1, std::uint64_t(i) * kLength, kLength, data.data()));
            if (!other.reply(h, e) || h != 1 || e != 0) break;
            REQUIRE(other.send(kCmdRead, 2, std::uint64_t(i) * kLength, kLength));
            if (!other.reply(h, e, &got) || h != 2 || e != 0 || got != data) break;
            ++good;
        }
        stuck.close();
    });
    CHECK(stuck_peak > 0u);
    CHECK(stuck_peak <= 256u * 1024);
    CHECK(good == 16);
}

TEST_CASE("a client that never finishes its handshake is closed at the deadline; one in transmission is not") {
    Logger log{LogLevel::Error};
    auto loop = std::move(EventLoop::create().value());
    MemoryBackend backend(*loop, geometry());
    NbdServerConfig config{"", "lun0", std::nullopt, 4, 4};
    config.handshake_timeout = std::chrono::milliseconds(200);
    auto server = NbdServer::create(*loop, backend, log, config);
    REQUIRE(server);
    int silent[2], good[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, silent) == 0);
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, good) == 0);
    REQUIRE(::fcntl(silent[0], F_SETFL, O_NONBLOCK) == 0);
    REQUIRE(::fcntl(good[0], F_SETFL, O_NONBLOCK) == 0);
    REQUIRE((*server)->serve_connected(UniqueFd(silent[0])));
    REQUIRE((*server)->serve_connected(UniqueFd(good[0])));
    Client quiet(silent[1]);
    Client active(good[1]);
    bool closed_at_deadline = false, served_after = false;
    with_client(*loop, [&] {
        std::uint8_t greeting[kServerGreetingSize];
        REQUIRE(quiet.read_exact(greeting, sizeof greeting));  // then says nothing
        REQUIRE(active.go("lun0"));
        std::this_thread::sleep_for(std::chrono::milliseconds(500));
        std::uint8_t byte;
        closed_at_deadline = ::read(quiet.fd(), &byte, 1) == 0;  // EOF: the server closed it
        std::uint64_t h;
        std::uint32_t e;
        served_after = active.send(kCmdFlush, 7, 0, 0) && active.reply(h, e) && h == 7 && e == 0;
    });
    CHECK(closed_at_deadline);
    CHECK(served_after);
    CHECK((*server)->connection_count() == 1u);
}
