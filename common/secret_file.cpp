#include "common/secret_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "common/unique_fd.hpp"

namespace iser {
namespace {

constexpr std::size_t kMaxSecretBytes = 255;

Result<UniqueFd> open_checked(const std::string& path, int mode) {
    UniqueFd fd(::open(path.c_str(), mode | O_CLOEXEC | O_NOFOLLOW));
    if (!fd.valid()) {
        const int e = errno;
        if (e == ELOOP) return make_error(EPERM, path + " is a symlink; name the file itself");
        return make_error(e, path + ": " + std::strerror(e));
    }
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) return make_error(errno, path + ": " + std::strerror(errno));
    // O_PATH | O_NOFOLLOW opens a symlink itself rather than failing with ELOOP.
    if (S_ISLNK(st.st_mode)) return make_error(EPERM, path + " is a symlink; name the file itself");
    if (!S_ISREG(st.st_mode)) return make_error(EINVAL, path + " is not a regular file");
    if (st.st_mode & (S_IRWXG | S_IRWXO)) {
        char octal[8];
        std::snprintf(octal, sizeof octal, "%04o", unsigned(st.st_mode & 07777));
        return make_error(EPERM, path + " is accessible by group or others (mode " + octal +
                                     "); run 'chmod 600 " + path + "'");
    }
    if (st.st_uid != 0 && st.st_uid != ::geteuid())
        return make_error(EPERM, path + " is owned by uid " + std::to_string(st.st_uid) +
                                     ", not by root; run 'chown root " + path + "'");
    return fd;
}

}  // namespace

Status check_secret_file(const std::string& path) {
    auto fd = open_checked(path, O_PATH);
    if (!fd) return fd.take_error();
    return {};
}

Result<std::string> read_secret_file(const std::string& path) {
    auto fd = open_checked(path, O_RDONLY);
    if (!fd) return fd.take_error();
    char buf[kMaxSecretBytes + 2];
    ssize_t n;
    do {
        n = ::read(fd->get(), buf, sizeof buf);
    } while (n < 0 && errno == EINTR);
    if (n < 0) return make_error(errno, path + ": " + std::strerror(errno));
    std::string secret(buf, std::size_t(n));
    explicit_bzero(buf, sizeof buf);
    auto nl = secret.find_first_of("\r\n");
    if (nl != std::string::npos) secret.resize(nl);
    if (secret.empty()) return make_error(EINVAL, path + " is empty");
    if (secret.size() > kMaxSecretBytes)
        return make_error(EINVAL, path + " holds a secret longer than " + std::to_string(kMaxSecretBytes) + " bytes");
    return secret;
}

}  // namespace iser
