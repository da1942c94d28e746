#include "cli/atomic_file.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "common/unique_fd.hpp"

namespace iser::cli {
namespace {

Error failed(const std::string& what, const std::string& path) {
    const int code = errno;
    return make_error(code, "cannot " + what + " " + path + ": " + std::strerror(code));
}

}  // namespace

Status write_file_atomically(const std::string& path, std::string_view content, mode_t mode) {
    const std::filesystem::path target(path);
    if (!target.has_filename()) return make_error(EINVAL, "'" + path + "' names no file");
    const std::filesystem::path dir = target.has_parent_path() ? target.parent_path() : ".";
    std::string temp = (dir / ("." + target.filename().string() + ".XXXXXX")).string();
    UniqueFd fd(::mkstemp(temp.data()));
    if (!fd.valid()) return failed("create a temporary file in", dir.string());
    auto give_up = [&temp](Error e) {
        ::unlink(temp.c_str());
        return e;
    };
    for (std::size_t done = 0; done < content.size();) {
        ssize_t n = ::write(fd.get(), content.data() + done, content.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return give_up(failed("write", temp));
        done += std::size_t(n);
    }
    // mkstemp makes 0600; the reader (node_exporter) is usually another user.
    if (::fchmod(fd.get(), mode) != 0) return give_up(failed("set the mode of", temp));
    if (::fsync(fd.get()) != 0) return give_up(failed("flush", temp));
    if (::close(fd.release()) != 0) return give_up(failed("close", temp));
    if (::rename(temp.c_str(), path.c_str()) != 0) return give_up(failed("rename a temporary file to", path));
    return {};
}

}  // namespace iser::cli
