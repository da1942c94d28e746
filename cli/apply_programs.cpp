#include "cli/apply_programs.hpp"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "common/unique_fd.hpp"

namespace iser::cli {
namespace {

// The full path of `name`: as given when it has a '/', else the first executable in PATH (plus
// the sbin directories, which a non-login root shell may lack).
std::string find_program(const std::string& name) {
    if (name.find('/') != std::string::npos) return name;
    std::string path = std::getenv("PATH") ? std::getenv("PATH") : "";
    path += ":/usr/sbin:/sbin:/usr/bin:/bin";
    std::size_t start = 0;
    while (start <= path.size()) {
        std::size_t end = std::min(path.find(':', start), path.size());
        std::string dir = path.substr(start, end - start);
        start = end + 1;
        if (dir.empty()) continue;
        std::string candidate = dir + "/" + name;
        if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    }
    return {};
}

std::string last_line_of(const std::string& output) {
    std::size_t end = output.find_last_not_of(" \t\r\n");
    if (end == std::string::npos) return {};
    std::size_t start = output.find_last_of('\n', end);
    return output.substr(start == std::string::npos ? 0 : start + 1, end + 1 - (start == std::string::npos ? 0 : start + 1));
}

}  // namespace

Result<ProgramResult> run_program(const std::vector<std::string>& argv) {
    std::string program = find_program(argv.at(0));
    if (program.empty()) return make_error(ENOENT, argv[0] + " not found");
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return make_error(errno, std::string("pipe: ") + std::strerror(errno));
    UniqueFd read_end(fds[0]), write_end(fds[1]);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);

    pid_t pid = ::fork();
    if (pid < 0) return make_error(errno, std::string("fork: ") + std::strerror(errno));
    if (pid == 0) {
        // Child: only async-signal-safe calls until exec.
        int null = ::open("/dev/null", O_RDONLY);
        if (null >= 0) ::dup2(null, 0);
        ::dup2(write_end.get(), 1);
        ::dup2(write_end.get(), 2);
        ::execv(program.c_str(), args.data());
        ::_exit(127);
    }
    write_end.reset();
    std::string output;
    char buf[4096];
    while (true) {
        ssize_t n = ::read(read_end.get(), buf, sizeof(buf));
        if (n > 0) {
            output.append(buf, std::size_t(n));
            if (output.size() > 64 * 1024) output.erase(0, output.size() - 16 * 1024);  // keep the tail
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        break;
    }
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    ProgramResult result;
    result.exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    result.last_line = last_line_of(output);
    return result;
}

Status run_checked(const std::vector<std::string>& argv) {
    auto r = run_program(argv);
    if (!r) return r.take_error();
    if (r->exit_status == 0) return {};
    std::string what = argv[0] + " failed (" +
                       (r->exit_status < 0 ? std::string("killed by a signal") : "exit status " + std::to_string(r->exit_status)) + ")";
    if (!r->last_line.empty()) what += ": " + r->last_line;
    return make_error(EIO, what);
}

}  // namespace iser::cli
