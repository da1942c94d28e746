#include "config/load_file.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/secret_file.hpp"
#include "config/loader.hpp"

namespace iser::config {

std::optional<std::string> check_secret_file_mode(const std::string& path) {
    // The same check iserd makes when it reads the file (common/secret_file.hpp).
    if (Status st = check_secret_file(path); !st) return st.error().message;
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
