#include "control/client.hpp"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>

#include "common/unique_fd.hpp"

namespace iser::control {
namespace {

Result<UniqueFd> connect_to(const std::string& path) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (path.empty() || path.size() >= sizeof(addr.sun_path))
        return make_error(ENAMETOOLONG, "socket path '" + path + "' is empty or too long");
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd.valid()) return make_error(errno, std::string("cannot create socket: ") + std::strerror(errno));
    while (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0) {
        int code = errno;
        if (code == EINTR) continue;
        if (code == ENOENT || code == ECONNREFUSED || code == ENOTDIR)
            return make_error(code == ENOTDIR ? ENOENT : code, "iserd is not running (socket " + path + ")");
        if (code == EACCES || code == EPERM) return make_error(EACCES, "permission denied: iserctl must run as root");
        return make_error(code, "cannot connect to iserd at " + path + ": " + std::strerror(code));
    }
    return fd;
}

}  // namespace

Status ControlClient::probe() const {
    auto fd = connect_to(path_);
    if (!fd) return fd.take_error();
    return {};
}

Result<Reply> ControlClient::call(const Request& request) const {
    auto fd = connect_to(path_);
    if (!fd) return fd.take_error();

    std::string out = encode_request(request);
    std::string_view pending = out;
    while (!pending.empty()) {
        ssize_t n = ::send(fd->get(), pending.data(), pending.size(), MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        // iserd may refuse (non-root) and close before reading: its reply is still worth reading.
        if (n < 0 && errno == EPIPE) break;
        if (n < 0) return make_error(errno, std::string("cannot send to iserd: ") + std::strerror(errno));
        pending.remove_prefix(std::size_t(n));
    }

    std::string line;
    char buf[8192];
    for (;;) {
        ssize_t n = ::recv(fd->get(), buf, sizeof(buf), 0);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            if (errno == ECONNRESET && !line.empty()) break;
            return make_error(errno, std::string("cannot read reply from iserd: ") + std::strerror(errno));
        }
        if (n == 0) break;
        line.append(buf, std::size_t(n));
        if (line.find('\n') != std::string::npos) break;
        if (line.size() > kMaxReplyBytes) return make_error(EMSGSIZE, "reply from iserd is too long");
    }
    if (line.empty()) return make_error(EPROTO, "iserd closed the connection without a reply (see its log)");
    return decode_reply(request, line.substr(0, line.find('\n')));
}

}  // namespace iser::control
