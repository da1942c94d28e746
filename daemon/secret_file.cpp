#include "daemon/secret_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>

#include "common/unique_fd.hpp"

namespace iser::daemon {

Result<std::string> read_secret_file(const std::string& path) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
    if (!fd.valid()) return make_error(errno, "cannot open secret file " + path + ": " + std::strerror(errno));
    struct stat st{};
    if (fstat(fd.get(), &st) != 0) return make_error(errno, "cannot stat secret file " + path);
    if (!S_ISREG(st.st_mode)) return make_error(EINVAL, "secret file " + path + " is not a regular file");
    if (st.st_mode & (S_IRWXG | S_IRWXO))
        return make_error(EPERM, "secret file " + path + " is readable by group or others; chmod 600 it");
    if (st.st_uid != 0 && st.st_uid != geteuid())
        return make_error(EPERM, "secret file " + path + " is not owned by root");
    char buf[512];
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0) return make_error(errno, "cannot read secret file " + path);
    std::string secret(buf, std::size_t(n));
    std::memset(buf, 0, sizeof buf);
    auto nl = secret.find_first_of("\r\n");
    if (nl != std::string::npos) secret.resize(nl);
    if (secret.empty()) return make_error(EINVAL, "secret file " + path + " is empty");
    return secret;
}

}  // namespace iser::daemon
