#include "daemon/device_links.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace iser::daemon {
namespace {

namespace fs = std::filesystem;

Error sys_error(int code, const std::string& what) { return make_error(code, what + ": " + std::strerror(code)); }

Status check_arguments(const std::string& name, const std::string& device_path, const std::string& base_dir) {
    if (name.find('/') != std::string::npos || name.find('\0') != std::string::npos || name == "." || name == "..")
        return make_error(EINVAL, "device link: '" + name + "' cannot be a file name");
    if (!fs::path(device_path).is_absolute()) return make_error(EINVAL, "device link: '" + device_path + "' is not an absolute path");
    if (!fs::path(base_dir).is_absolute()) return make_error(EINVAL, "device link: '" + base_dir + "' is not an absolute path");
    return {};
}

// mkdir -p with mode 0755 for each folder it creates: iserd runs with umask 077, and the links
// must be readable by everyone, like the rest of /dev/disk.
Status make_directories(const fs::path& dir) {
    fs::path partial;
    for (const auto& part : dir.lexically_normal()) {
        partial /= part;
        if (part.empty() || partial == partial.root_path()) continue;
        if (::mkdir(partial.c_str(), 0755) == 0) {
            if (::chmod(partial.c_str(), 0755) != 0) return sys_error(errno, "cannot chmod " + partial.string());
        } else if (errno != EEXIST) {
            return sys_error(errno, "cannot create " + partial.string());
        }
    }
    struct stat st{};
    if (::stat(dir.c_str(), &st) != 0) return sys_error(errno, "cannot create " + dir.string());
    if (!S_ISDIR(st.st_mode)) return make_error(ENOTDIR, dir.string() + " is not a directory");
    return {};
}

// What the link should contain: the device relative to the link's folder ("../../ublkb0"), so
// it stays right when /dev is seen from a chroot or container at another path.
std::string link_text(const std::string& device_path, const std::string& base_dir) {
    return fs::path(device_path).lexically_normal().lexically_relative(fs::path(base_dir).lexically_normal()).string();
}

}  // namespace

std::string device_link_name(const std::string& iqn, std::uint32_t lun) { return iqn + "-lun" + std::to_string(lun); }

Status create_device_link(const std::string& iqn, std::uint32_t lun, const std::string& device_path,
                          const std::string& base_dir) {
    const std::string name = device_link_name(iqn, lun);
    ISER_TRY(check_arguments(name, device_path, base_dir));
    ISER_TRY(make_directories(base_dir));
    const fs::path link = fs::path(base_dir) / name;
    // One temporary name per process and link: a leftover of a crashed iserd is removed first.
    const fs::path temporary = fs::path(base_dir) / ("." + name + ".tmp" + std::to_string(::getpid()));
    ::unlink(temporary.c_str());
    const std::string text = link_text(device_path, base_dir);
    if (::symlink(text.c_str(), temporary.c_str()) != 0) return sys_error(errno, "cannot create link " + temporary.string());
    if (::rename(temporary.c_str(), link.c_str()) != 0) {
        int e = errno;
        ::unlink(temporary.c_str());
        return sys_error(e, "cannot replace " + link.string());
    }
    return {};
}

void remove_device_link(const std::string& iqn, std::uint32_t lun, const std::string& device_path,
                        const std::string& base_dir) {
    const std::string name = device_link_name(iqn, lun);
    if (!check_arguments(name, device_path, base_dir)) return;
    const fs::path link = fs::path(base_dir) / name;
    char target[4096];
    ssize_t n = ::readlink(link.c_str(), target, sizeof(target) - 1);
    if (n < 0) return;
    target[n] = '\0';
    // Ours when it resolves to device_path; compared on the text, not by following it, because
    // the device node may already be gone. (A create for the same name between readlink and
    // unlink would be lost; iserd makes and removes a LUN's link from one control request at a
    // time.)
    const fs::path resolved = (fs::path(base_dir) / target).lexically_normal();
    if (resolved != fs::path(device_path).lexically_normal()) return;
    ::unlink(link.c_str());
}

}  // namespace iser::daemon
