// ControlServer + ControlClient over a real unix socket in a temp dir, with a fake Handler.
#include <doctest/doctest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <thread>

#include "control/client.hpp"
#include "control/server.hpp"

using namespace iser;
using namespace iser::control;

namespace {

class FakeHandler : public Handler {
public:
    Result<DiscoverReply> discover(const DiscoverRequest& r) override {
        last_portal = r.portal;
        DiscoverReply reply;
        reply.portals.push_back({"192.0.2.10", 3260, 1, "iqn.2003-01.org.example:disk1"});
        return reply;
    }
    Result<LoginReply> login(const LoginRequest& r) override {
        if (r.target == "iqn.2003-01.org.example:missing")
            return make_error(ENOENT, "target iqn.2003-01.org.example:missing not found on " + r.portal);
        last_target = r.target;
        last_secret_file = r.chap_secret_file;
        LoginReply reply;
        reply.attached.push_back({0, "/dev/ublkb0", 1 << 30, 512});
        reply.skipped.push_back({1, "not a disk"});
        return reply;
    }
    Result<LogoutReply> logout(const LogoutRequest& r) override {
        LogoutReply reply;
        if (r.all) reply.detached = {"/dev/ublkb0"};
        return reply;
    }
    Result<StatsReply> stats() override {
        StatsReply reply;
        DeviceStats d;
        d.target = "iqn.2003-01.org.example:disk1";
        d.path = "/dev/ublkb0";
        d.state = "logged-in";
        d.sessions = 2;
        d.uptime_ms = 2000;
        for (int i = 0; i < 100; ++i) d.io.record(BlockOp::Read, 4096, 100, 0);
        for (int i = 0; i < 50; ++i) d.io.record(BlockOp::Write, 8192, 1000, 0);
        d.reconnects = 1;
        d.retries = 3;
        reply.devices.push_back(d);
        return reply;
    }
    Result<ListReply> list() override {
        ListReply reply;
        SessionInfo s;
        s.target = "iqn.2003-01.org.example:disk1";
        s.portal = "192.0.2.10:3260";
        s.negotiated = {{"HeaderDigest", "None"}};
        reply.sessions.push_back(s);
        return reply;
    }
    Status shutdown(bool keep_devices) override {
        ++shutdowns;
        if (keep_devices) ++keeping_shutdowns;
        return {};
    }

    std::string last_portal, last_target, last_secret_file;
    int shutdowns = 0;
    int keeping_shutdowns = 0;
};

struct TempDir {
    TempDir() {
        char tmpl[] = "/tmp/iser-control-test.XXXXXX";
        REQUIRE(::mkdtemp(tmpl) != nullptr);
        path = tmpl;
    }
    ~TempDir() { std::filesystem::remove_all(path); }
    std::string path;
};

// Runs a server on its own thread for the lifetime of the object.
struct RunningServer {
    RunningServer(std::unique_ptr<ControlServer> s) : server(std::move(s)), thread([this] { server->run(); }) {}
    ~RunningServer() {
        server->stop();
        thread.join();
    }
    std::unique_ptr<ControlServer> server;
    std::thread thread;
};

// Sends raw bytes and returns everything the server answers (raw syscalls only, so it is safe
// in a forked child).
std::string raw_exchange(const std::string& path, std::string_view request) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
        ::close(fd);
        return "connect failed";
    }
    (void)!::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
    ::shutdown(fd, SHUT_WR);
    std::string out;
    char buf[4096];
    ssize_t n;
    while ((n = ::read(fd, buf, sizeof(buf))) > 0) out.append(buf, std::size_t(n));
    ::close(fd);
    return out;
}

constexpr uid_t kNobody = 65534;

}  // namespace

TEST_CASE("control socket: every request round-trips through server and handler") {
    TempDir dir;
    std::string path = dir.path + "/run/iserd.sock";
    Logger log(LogLevel::Error);
    FakeHandler handler;
    auto created = ControlServer::create(path, handler, log);
    REQUIRE_MESSAGE(created.ok(), created.error().message);

    struct stat st{};
    REQUIRE(::stat((dir.path + "/run").c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0700);
    REQUIRE(::stat(path.c_str(), &st) == 0);
    CHECK(S_ISSOCK(st.st_mode));
    CHECK((st.st_mode & 0777) == 0600);

    {
        RunningServer running(std::move(created).value());
        ControlClient client(path);

        auto d = client.discover(DiscoverRequest{"[::1]:3260", "tcp"});
        REQUIRE_MESSAGE(d.ok(), d.error().message);
        REQUIRE(d->portals.size() == 1);
        CHECK(d->portals[0].target == "iqn.2003-01.org.example:disk1");
        CHECK(handler.last_portal == "[::1]:3260");

        LoginRequest login;
        login.portal = "192.0.2.10:3260";
        login.target = "iqn.2003-01.org.example:disk1";
        login.chap_user = "u";
        login.chap_secret_file = "/etc/iser/u.secret";
        auto l = client.login(login);
        REQUIRE_MESSAGE(l.ok(), l.error().message);
        REQUIRE(l->attached.size() == 1);
        CHECK(l->attached[0].path == "/dev/ublkb0");
        CHECK(l->attached[0].size_bytes == (1u << 30));
        REQUIRE(l->skipped.size() == 1);
        CHECK(l->skipped[0].reason == "not a disk");
        CHECK(handler.last_target == login.target);
        CHECK(handler.last_secret_file == "/etc/iser/u.secret");

        login.target = "iqn.2003-01.org.example:missing";
        auto missing = client.login(login);
        REQUIRE_FALSE(missing.ok());
        CHECK(missing.error().code == ENOENT);
        CHECK(missing.error().message == "target iqn.2003-01.org.example:missing not found on 192.0.2.10:3260");

        LogoutRequest all;
        all.all = true;
        auto o = client.logout(all);
        REQUIRE(o.ok());
        CHECK(o->detached == std::vector<std::string>{"/dev/ublkb0"});

        auto s = client.list();
        REQUIRE(s.ok());
        REQUIRE(s->sessions.size() == 1);
        CHECK(s->sessions[0].negotiated.at(0).second == "None");

        CHECK(client.shutdown().ok());
        CHECK(handler.shutdowns == 1);
        CHECK(handler.keeping_shutdowns == 0);
        CHECK(client.shutdown(true).ok());
        CHECK(handler.shutdowns == 2);
        CHECK(handler.keeping_shutdowns == 1);

        // A malformed request gets an error reply, and the server keeps serving.
        std::string reply = raw_exchange(path, "{\"op\":\"format\"}\n");
        CHECK(reply == "{\"ok\":false,\"error\":\"unknown op 'format'\",\"errno\":22}\n");
        std::string big(kMaxRequestBytes + 10, ' ');
        reply = raw_exchange(path, big);
        CHECK(reply.find("\"errno\":90") != std::string::npos);  // EMSGSIZE
        CHECK(client.list().ok());
    }
    // The server removed its socket on the way out.
    CHECK(::access(path.c_str(), F_OK) != 0);
}

TEST_CASE("control socket: a second iserd on the same path is refused, a stale socket replaced") {
    TempDir dir;
    std::string path = dir.path + "/iserd.sock";
    Logger log(LogLevel::Error);
    FakeHandler handler;

    // Nothing there: the client says iserd is not running.
    auto none = ControlClient(path).list();
    REQUIRE_FALSE(none.ok());
    CHECK(none.error().code == ENOENT);
    CHECK(none.error().message == "iserd is not running (socket " + path + ")");
    CHECK(is_not_running(none.error()));

    // A stale socket: bound once, nobody listening.
    {
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
        int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
        REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
        ::close(fd);
    }
    auto refused = ControlClient(path).list();
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error().code == ECONNREFUSED);
    CHECK(refused.error().message.rfind("iserd is not running", 0) == 0);

    auto first = ControlServer::create(path, handler, log);
    REQUIRE_MESSAGE(first.ok(), first.error().message);
    RunningServer running(std::move(first).value());

    auto second = ControlServer::create(path, handler, log);
    REQUIRE_FALSE(second.ok());
    CHECK(second.error().code == EADDRINUSE);
    CHECK(second.error().message == "iserd is already running (socket " + path + ")");
    // The refused second server left the first one's socket alone.
    CHECK(ControlClient(path).list().ok());
}

TEST_CASE("control socket: a path that is not a socket is left alone") {
    TempDir dir;
    std::string path = dir.path + "/iserd.sock";
    std::FILE* f = std::fopen(path.c_str(), "w");
    REQUIRE(f);
    std::fclose(f);
    Logger log(LogLevel::Error);
    FakeHandler handler;
    auto s = ControlServer::create(path, handler, log);
    REQUIRE_FALSE(s.ok());
    CHECK(s.error().message.find("is not a socket") != std::string::npos);
    CHECK(std::filesystem::is_regular_file(path));

    auto long_path = ControlServer::create(dir.path + "/" + std::string(120, 'x'), handler, log);
    REQUIRE_FALSE(long_path.ok());
    CHECK(long_path.error().code == ENAMETOOLONG);
}

TEST_CASE("control socket: only root may talk to iserd") {
    if (::geteuid() != 0) {
        MESSAGE("SKIP: needs root to switch to an unprivileged uid");
        return;
    }
    TempDir dir;
    std::string path = dir.path + "/iserd.sock";
    Logger log(LogLevel::Error);
    FakeHandler handler;
    auto created = ControlServer::create(path, handler, log);
    REQUIRE(created.ok());

    // 1. Through the 0700 directory a non-root client cannot even connect.
    // (Forked before any thread starts, so the child may use the client freely.)
    pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        if (::setgid(kNobody) != 0 || ::setuid(kNobody) != 0) _exit(3);
        auto r = ControlClient(path).list();
        bool right = !r.ok() && r.error().code == EACCES &&
                     r.error().message == "permission denied: iserctl must run as root";
        _exit(right ? 0 : 1);
    }
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);

    // 2. With the directory and socket opened up, SO_PEERCRED still refuses the request.
    REQUIRE(::chmod(dir.path.c_str(), 0755) == 0);
    REQUIRE(::chmod(path.c_str(), 0666) == 0);
    int pipefd[2];
    REQUIRE(::pipe(pipefd) == 0);
    child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        ::close(pipefd[0]);
        if (::setgid(kNobody) != 0 || ::setuid(kNobody) != 0) _exit(3);
        std::string reply = raw_exchange(path, "{\"op\":\"list\"}\n");
        (void)!::write(pipefd[1], reply.data(), reply.size());
        _exit(0);
    }
    ::close(pipefd[1]);
    {
        RunningServer running(std::move(created).value());
        std::string reply;
        char buf[512];
        ssize_t n;
        while ((n = ::read(pipefd[0], buf, sizeof(buf))) > 0) reply.append(buf, std::size_t(n));
        ::close(pipefd[0]);
        REQUIRE(::waitpid(child, &status, 0) == child);
        CHECK(reply == "{\"ok\":false,\"error\":\"permission denied: iserctl must run as root\",\"errno\":13}\n");
    }
}
