#include "nbd/unix_listener.hpp"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

namespace iser::nbd {
namespace {

Error sys_error(const std::string& what, const std::string& path) {
    int code = errno;
    return make_error(code, what + " " + path + ": " + std::strerror(code));
}

}  // namespace

Result<UnixListener> listen_unix(const std::string& path, std::optional<gid_t> group, int backlog,
                                 const std::function<void()>& after_bind) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (path.empty() || path.size() >= sizeof addr.sun_path)
        return make_error(ENAMETOOLONG, "nbd socket path empty or longer than " +
                                            std::to_string(sizeof addr.sun_path - 1) + " bytes: " + path);
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    auto* sa = reinterpret_cast<sockaddr*>(&addr);

    struct stat st {};
    if (::lstat(path.c_str(), &st) == 0) {
        if (!S_ISSOCK(st.st_mode)) return make_error(EEXIST, "nbd socket path exists and is not a socket: " + path);
        // A socket file left by a dead server refuses connections; a live one must be kept.
        UniqueFd probe(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
        if (!probe.valid()) return sys_error("socket for", path);
        if (::connect(probe.get(), sa, sizeof addr) == 0 || errno == EAGAIN)
            return make_error(EADDRINUSE, "another server is listening on " + path);
        if (::unlink(path.c_str()) != 0 && errno != ENOENT) return sys_error("unlink stale socket", path);
    } else if (errno != ENOENT) {
        return sys_error("lstat", path);
    }

    // Owner and mode are set in a private directory, then the socket is renamed into place:
    // chown()/chmod() on the final path would follow a symlink that a user of its directory
    // swapped in between bind() and them. rename() replaces whatever is at the path itself.
    const auto slash = path.rfind('/');
    const std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
    std::string private_dir = dir + "/.iserd-XXXXXX";
    if (private_dir.size() + 2 >= sizeof addr.sun_path)
        return make_error(ENAMETOOLONG, "nbd socket directory name too long for the private directory the socket "
                                        "is made in (at most " + std::to_string(sizeof addr.sun_path - 17) + " bytes): " + path);
    if (!::mkdtemp(private_dir.data())) return sys_error("mkdtemp beside", path);  // mode 0700
    const std::string staging = private_dir + "/s";
    auto cleanup = [&] {
        ::unlink(staging.c_str());
        ::rmdir(private_dir.c_str());
    };
    sockaddr_un staged{};
    staged.sun_family = AF_UNIX;
    std::memcpy(staged.sun_path, staging.c_str(), staging.size() + 1);

    UnixListener listener;
    listener.fd.reset(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    auto fail = [&](Error e) {
        cleanup();
        return e;
    };
    if (!listener.fd.valid()) return fail(sys_error("socket for", path));
    // bind() creates the file with the socket inode's mode minus the umask: narrowing the inode
    // first means the file is born 0600 without touching the process-wide umask.
    if (::fchmod(listener.fd.get(), S_IRUSR | S_IWUSR) != 0) return fail(sys_error("fchmod socket for", path));
    if (::bind(listener.fd.get(), reinterpret_cast<sockaddr*>(&staged), sizeof staged) != 0)
        return fail(sys_error("bind", staging));
    if (group) {
        // Group first, then widen to 0660: never readable by a group it was not meant for.
        if (::chown(staging.c_str(), uid_t(-1), *group) != 0) return fail(sys_error("chown", staging));
        if (::chmod(staging.c_str(), S_IRUSR | S_IWUSR | S_IRGRP | S_IWGRP) != 0) return fail(sys_error("chmod", staging));
    } else if (::chmod(staging.c_str(), S_IRUSR | S_IWUSR) != 0) {
        return fail(sys_error("chmod", staging));
    }
    if (::lstat(staging.c_str(), &st) != 0) return fail(sys_error("lstat", staging));
    listener.dev = st.st_dev;
    listener.ino = st.st_ino;
    if (::listen(listener.fd.get(), backlog) != 0) return fail(sys_error("listen on", path));
    if (after_bind) after_bind();
    if (::rename(staging.c_str(), path.c_str()) != 0) return fail(sys_error("rename socket to", path));
    ::rmdir(private_dir.c_str());
    return listener;
}

void unlink_unix_listener(const std::string& path, dev_t dev, ino_t ino) {
    struct stat st {};
    if (::lstat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode) && st.st_dev == dev && st.st_ino == ino)
        ::unlink(path.c_str());
}

}  // namespace iser::nbd
