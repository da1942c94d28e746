#include "cli/secret_file.hpp"

#include <sys/stat.h>

#include <cstring>
#include <filesystem>

namespace iser::cli {

Result<std::string> check_secret_file(const std::string& path, const char* option) {
    struct stat st{};
    if (::stat(path.c_str(), &st) != 0)
        return make_error(errno, std::string(option) + " " + path + ": " + std::strerror(errno));
    if (!S_ISREG(st.st_mode)) return make_error(EINVAL, std::string(option) + " " + path + " is not a regular file");
    if (st.st_mode & (S_IRGRP | S_IWGRP | S_IROTH | S_IWOTH))
        return make_error(EPERM, std::string(option) + " " + path +
                                     " is accessible by group or others; run 'chmod 600 " + path + "'");
    std::error_code ec;
    auto absolute = std::filesystem::absolute(path, ec);
    if (ec) return make_error(ec.value(), std::string(option) + " " + path + ": " + ec.message());
    return absolute.lexically_normal().string();
}

}  // namespace iser::cli
