#include "config/load_file.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "config/loader.hpp"

namespace iser::config {

std::optional<std::string> check_secret_file_mode(const std::string& path) {
    struct stat st{};
    if (::stat(path.c_str(), &st) != 0) return path + ": " + std::strerror(errno);
    if (!S_ISREG(st.st_mode)) return path + " is not a regular file";
    if (st.st_mode & (S_IRGRP | S_IWGRP | S_IROTH | S_IWOTH)) {
        char mode[8];
        std::snprintf(mode, sizeof(mode), "%04o", unsigned(st.st_mode & 07777));
        return path + " is accessible by group or others (mode " + mode + "); run 'chmod 600 " + path + "'";
    }
    return std::nullopt;
}

Result<Config> load_config_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return make_error(errno ? errno : ENOENT, path + ": cannot read: " + std::strerror(errno ? errno : ENOENT));
    std::ostringstream text;
    text << in.rdbuf();
    if (in.bad()) return make_error(EIO, path + ": cannot read: read error");
    LoadOptions options;
    options.check_secret_file = check_secret_file_mode;
    std::error_code ec;
    auto absolute = std::filesystem::absolute(path, ec);
    if (!ec) options.base_directory = absolute.parent_path().string();
    return parse_config(text.str(), path, options);
}

}  // namespace iser::config
