#include "cli/secret_file.hpp"

#include <cstring>
#include <filesystem>

#include "common/secret_file.hpp"

namespace iser::cli {

Result<std::string> check_secret_file(const std::string& path, const char* option) {
    // The same check iserd makes when it reads the file (common/secret_file.hpp).
    if (Status st = iser::check_secret_file(path); !st)
        return make_error(st.error().code, std::string(option) + " " + st.error().message);
    std::error_code ec;
    auto absolute = std::filesystem::absolute(path, ec);
    if (ec) return make_error(ec.value(), std::string(option) + " " + path + ": " + ec.message());
    return absolute.lexically_normal().string();
}

}  // namespace iser::cli
