#include "control/server.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>

#include "control/wire.hpp"

namespace iser::control {
namespace {

// A client that connects and then stalls must not hold a worker forever.
constexpr int kClientIoTimeoutSeconds = 10;

Error sys_error(const std::string& what) {
    int code = errno;
    return make_error(code, what + ": " + std::strerror(code));
}

Result<sockaddr_un> unix_address(const std::string& path) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (path.empty() || path.size() >= sizeof(addr.sun_path))
        return make_error(ENAMETOOLONG, "socket path '" + path + "' is empty or longer than " +
                                            std::to_string(sizeof(addr.sun_path) - 1) + " bytes");
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    return addr;
}

// The directory holding the socket: created 0700 when missing; an existing one must be a
// directory that others cannot write to (else they could swap the socket under us).
Status prepare_directory(const std::string& socket_path) {
    std::filesystem::path dir = std::filesystem::path(socket_path).parent_path();
    if (dir.empty()) return {};
    std::error_code ec;
    if (!std::filesystem::exists(dir, ec)) {
        std::filesystem::create_directories(dir.parent_path(), ec);
        if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
            return sys_error("cannot create socket directory " + dir.string());
    }
    struct stat st{};
    if (::stat(dir.c_str(), &st) != 0) return sys_error("cannot stat socket directory " + dir.string());
    if (!S_ISDIR(st.st_mode)) return make_error(ENOTDIR, "socket directory " + dir.string() + " is not a directory");
    if (st.st_uid != ::geteuid() || ((st.st_mode & (S_IWGRP | S_IWOTH)) && !(st.st_mode & S_ISVTX)))
        return make_error(EPERM, "socket directory " + dir.string() +
                                     " is writable by other users; use a directory owned by root with mode 0700");
    return {};
}

// True when some process accepts connections on `path`.
bool someone_listens(const sockaddr_un& addr) {
    UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd.valid()) return false;
    return ::connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) == 0;
}

Error already_running(const std::string& path) {
    return make_error(EADDRINUSE, "iserd is already running (socket " + path + ")");
}

// Reads one line of at most kMaxRequestBytes (+ newline). Returns the line without '\n'.
Result<std::string> read_request_line(int fd) {
    std::string line;
    char buf[4096];
    for (;;) {
        ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
        if (n < 0) {
            if (errno == EINTR) continue;
            return sys_error("reading request");
        }
        if (n == 0) {
            if (line.empty()) return make_error(ECONNRESET, "client closed without a request");
            return line;  // tolerate a missing final newline
        }
        std::string_view chunk(buf, std::size_t(n));
        auto nl = chunk.find('\n');
        line.append(chunk.substr(0, nl));
        if (line.size() > kMaxRequestBytes)
            return make_error(EMSGSIZE, "request longer than " + std::to_string(kMaxRequestBytes) + " bytes");
        if (nl != std::string_view::npos) return line;
    }
}

void write_all(int fd, std::string_view data) {
    while (!data.empty()) {
        // MSG_NOSIGNAL: a client that went away must not kill iserd with SIGPIPE.
        ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return;
        data.remove_prefix(std::size_t(n));
    }
}

template <class T>
Result<Reply> widen(Result<T>&& r) {
    if (!r) return r.take_error();
    return Reply{std::move(r).value()};
}

Result<Reply> dispatch(Handler& handler, const Request& request) {
    struct Visitor {
        Handler& h;
        Result<Reply> operator()(const DiscoverRequest& r) { return widen(h.discover(r)); }
        Result<Reply> operator()(const LoginRequest& r) { return widen(h.login(r)); }
        Result<Reply> operator()(const LogoutRequest& r) { return widen(h.logout(r)); }
        Result<Reply> operator()(const ListRequest&) { return widen(h.list()); }
        Result<Reply> operator()(const StatsRequest&) { return widen(h.stats()); }
        Result<Reply> operator()(const RescanRequest& r) { return widen(h.rescan(r)); }
        Result<Reply> operator()(const ShutdownRequest& r) {
            Status s = h.shutdown(r.keep_devices);
            if (!s) return s.take_error();
            return Reply{ShutdownReply{}};
        }
    };
    return std::visit(Visitor{handler}, request);
}

}  // namespace

Result<std::unique_ptr<ControlServer>> ControlServer::create(std::string socket_path, Handler& handler, Logger& log) {
    auto addr = unix_address(socket_path);
    if (!addr) return addr.take_error();
    ISER_TRY(prepare_directory(socket_path));

    std::unique_ptr<ControlServer> server(new ControlServer(socket_path, handler, log));
    // The lock serialises two iserds starting at once; the connect test below covers an iserd
    // whose lock file was removed by hand.
    std::string lock_path = socket_path + ".lock";
    server->lock_fd_.reset(::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
    if (!server->lock_fd_.valid()) return sys_error("cannot open lock file " + lock_path);
    if (::flock(server->lock_fd_.get(), LOCK_EX | LOCK_NB) != 0) {
        if (errno == EWOULDBLOCK) return already_running(socket_path);
        return sys_error("cannot lock " + lock_path);
    }

    struct stat st{};
    if (::lstat(socket_path.c_str(), &st) == 0) {
        if (!S_ISSOCK(st.st_mode))
            return make_error(EEXIST, socket_path + " exists and is not a socket; remove it or use --socket");
        if (someone_listens(*addr)) return already_running(socket_path);
        ISER_LOG_INFO(log, "replacing stale control socket %s", socket_path.c_str());
        if (::unlink(socket_path.c_str()) != 0 && errno != ENOENT)
            return sys_error("cannot remove stale socket " + socket_path);
    }

    server->listen_fd_.reset(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!server->listen_fd_.valid()) return sys_error("cannot create control socket");
    if (::bind(server->listen_fd_.get(), reinterpret_cast<const sockaddr*>(&*addr), sizeof(*addr)) != 0)
        return sys_error("cannot bind control socket " + socket_path);
    // The 0700 directory already keeps others out; 0600 on the socket says the same thing again.
    if (::chmod(socket_path.c_str(), 0600) != 0) return sys_error("cannot chmod " + socket_path);
    if (::lstat(socket_path.c_str(), &st) != 0) return sys_error("cannot stat " + socket_path);
    server->bound_dev_ = st.st_dev;
    server->bound_ino_ = st.st_ino;
    if (::listen(server->listen_fd_.get(), 16) != 0) return sys_error("cannot listen on " + socket_path);

    server->wake_fd_.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (!server->wake_fd_.valid()) return sys_error("cannot create eventfd");
    ISER_LOG_INFO(log, "control socket %s ready", socket_path.c_str());
    return server;
}

ControlServer::~ControlServer() {
    join_workers();
    remove_socket();
}

void ControlServer::remove_socket() {
    struct stat st{};
    if (listen_fd_.valid() && ::lstat(path_.c_str(), &st) == 0 && st.st_dev == bound_dev_ && st.st_ino == bound_ino_)
        ::unlink(path_.c_str());
    listen_fd_.reset();
}

void ControlServer::stop() {
    std::uint64_t one = 1;
    ssize_t n = ::write(wake_fd_.get(), &one, sizeof(one));
    (void)n;  // EAGAIN means a wake-up is already pending
}

void ControlServer::run() {
    for (;;) {
        pollfd fds[2] = {{listen_fd_.get(), POLLIN, 0}, {wake_fd_.get(), POLLIN, 0}};
        if (::poll(fds, 2, -1) < 0) {
            if (errno == EINTR) continue;
            ISER_LOG_ERROR(log_, "control socket poll failed: %s", std::strerror(errno));
            return;
        }
        if (fds[1].revents) {
            std::uint64_t count;
            ssize_t n = ::read(wake_fd_.get(), &count, sizeof(count));
            (void)n;
            return;
        }
        if (!(fds[0].revents & POLLIN)) continue;
        UniqueFd conn(::accept4(listen_fd_.get(), nullptr, nullptr, SOCK_CLOEXEC));
        if (!conn.valid()) {
            if (errno != EINTR && errno != ECONNABORTED && errno != EAGAIN)
                ISER_LOG_WARN(log_, "control socket accept failed: %s", std::strerror(errno));
            if (errno == EMFILE || errno == ENFILE) ::poll(nullptr, 0, 100);  // do not spin
            continue;
        }
        reap_workers();
        std::lock_guard<std::mutex> lock(workers_mutex_);
        if (workers_.size() >= kMaxWorkers) {
            // Answer without reading: the request is not worth a thread, and iserctl says why.
            timeval timeout{1, 0};
            ::setsockopt(conn.get(), SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
            write_all(conn.get(), encode_reply(make_error(EBUSY, "iserd is busy with " + std::to_string(kMaxWorkers) +
                                                                     " requests; try again")));
            continue;
        }
        Worker& w = workers_.emplace_back();
        w.thread = std::thread([this, &w, fd = conn.release()] {
            UniqueFd owned(fd);
            serve_connection(owned.get());
            owned.reset();  // the client sees the end of the reply before the thread is reaped
            std::lock_guard<std::mutex> l(workers_mutex_);
            w.done = true;
        });
    }
}

void ControlServer::reap_workers() {
    std::list<Worker> finished;
    {
        std::lock_guard<std::mutex> lock(workers_mutex_);
        for (auto it = workers_.begin(); it != workers_.end();) {
            auto next = std::next(it);
            if (it->done) finished.splice(finished.end(), workers_, it);
            it = next;
        }
    }
    for (auto& w : finished) w.thread.join();
}

void ControlServer::join_workers() {
    std::list<Worker> all;
    {
        std::lock_guard<std::mutex> lock(workers_mutex_);
        all.splice(all.end(), workers_);
    }
    for (auto& w : all) w.thread.join();
}

void ControlServer::serve_connection(int fd) {
    timeval timeout{kClientIoTimeoutSeconds, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));

    ucred cred{};
    socklen_t len = sizeof(cred);
    if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 || cred.uid != 0) {
        ISER_LOG_WARN(log_, "control request from uid %u refused (root only)", unsigned(cred.uid));
        write_all(fd, encode_reply(make_error(EACCES, "permission denied: iserctl must run as root")));
        return;
    }
    auto line = read_request_line(fd);
    if (!line && line.error().code == ECONNRESET) return;  // iserctl probing whether iserd is up
    if (!line) {
        ISER_LOG_WARN(log_, "control request: %s", line.error().message.c_str());
        write_all(fd, encode_reply(line.take_error()));
        return;
    }
    auto request = decode_request(*line);
    if (!request) {
        ISER_LOG_WARN(log_, "control request refused: %s", request.error().message.c_str());
        write_all(fd, encode_reply(request.take_error()));
        return;
    }
    ISER_LOG_DEBUG(log_, "control request: %s", op_name(*request));
    Result<Reply> reply = dispatch(handler_, *request);
    if (!reply) ISER_LOG_INFO(log_, "%s failed: %s", op_name(*request), reply.error().message.c_str());
    write_all(fd, encode_reply(reply));
}

}  // namespace iser::control
