#include "cli/daemon_starter.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>

#include "common/unique_fd.hpp"

namespace iser::cli {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr auto kStartTimeout = std::chrono::seconds(10);
// After an early exit keep looking a little: a concurrent iserctl may have started another
// iserd, and ours then exited with "already running".
constexpr auto kGraceAfterExit = std::chrono::seconds(2);
constexpr auto kPollInterval = std::chrono::milliseconds(50);

bool executable(const fs::path& p) { return ::access(p.c_str(), X_OK) == 0 && fs::is_regular_file(p); }

Result<std::string> find_iserd() {
    std::error_code ec;
    fs::path self = fs::read_symlink("/proc/self/exe", ec);
    if (!ec) {
        fs::path beside = self.parent_path() / "iserd";
        if (executable(beside)) return beside.string();
    }
    if (const char* path = std::getenv("PATH")) {
        std::string_view rest = path;
        while (!rest.empty()) {
            std::string_view dir = rest.substr(0, rest.find(':'));
            rest.remove_prefix(std::min(rest.size(), dir.size() + 1));
            if (dir.empty()) continue;
            fs::path candidate = fs::path(dir) / "iserd";
            if (executable(candidate)) return candidate.string();
        }
    }
    return make_error(ENOENT, "iserd is not running and cannot be started: no iserd next to iserctl" +
                                  (ec ? std::string() : " (" + self.parent_path().string() + ")") + " or in PATH");
}

// The last non-empty line iserd wrote to its log since `offset`, without the "<N>" syslog
// level prefix the logger adds for the journal.
std::string last_log_line(const std::string& log_path, std::streamoff offset) {
    std::ifstream in(log_path);
    if (!in) return {};
    in.seekg(offset);
    std::string line, last;
    while (std::getline(in, line))
        if (!line.empty()) last = line;
    if (last.size() > 2 && last[0] == '<' && last.find('>') != std::string::npos && last.find('>') < 4)
        last.erase(0, last.find('>') + 1);
    return last;
}

std::string describe_exit(int status) {
    if (WIFEXITED(status)) return "exit status " + std::to_string(WEXITSTATUS(status));
    if (WIFSIGNALED(status)) return std::string("killed by signal ") + strsignal(WTERMSIG(status));
    return "status " + std::to_string(status);
}

}  // namespace

Status start_iserd(const std::string& socket_path) {
    auto iserd = find_iserd();
    if (!iserd) return iserd.take_error();

    // iserd.log lives in the socket directory (created 0700 as iserd would).
    fs::path dir = fs::path(socket_path).parent_path();
    if (!dir.empty()) ::mkdir(dir.c_str(), 0700);
    std::string log_path = (dir / "iserd.log").string();
    UniqueFd log(::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600));
    UniqueFd null(::open("/dev/null", O_RDWR | O_CLOEXEC));
    if (!null.valid()) return make_error(errno, std::string("cannot open /dev/null: ") + std::strerror(errno));
    struct stat st{};
    std::streamoff log_start = log.valid() && ::fstat(log.get(), &st) == 0 ? st.st_size : 0;
    int out_fd = log.valid() ? log.get() : null.get();

    // Everything the child needs is built before fork.
    std::string arg0 = "iserd", arg1 = "--foreground", arg2 = "--socket";
    std::string socket_arg = socket_path;
    char* argv[] = {arg0.data(), arg1.data(), arg2.data(), socket_arg.data(), nullptr};

    pid_t pid = ::fork();
    if (pid < 0) return make_error(errno, std::string("cannot start iserd: fork: ") + std::strerror(errno));
    if (pid == 0) {
        ::setsid();
        ::dup2(null.get(), STDIN_FILENO);
        ::dup2(out_fd, STDOUT_FILENO);
        ::dup2(out_fd, STDERR_FILENO);
        ::execv(iserd->c_str(), argv);
        _exit(127);
    }

    control::ControlClient client(socket_path);
    const auto deadline = Clock::now() + kStartTimeout;
    std::optional<int> exit_status;
    std::optional<Clock::time_point> give_up_at;
    for (;;) {
        if (client.probe().ok()) return {};
        if (!exit_status) {
            int status = 0;
            if (::waitpid(pid, &status, WNOHANG) == pid) {
                exit_status = status;
                give_up_at = std::min(deadline, Clock::now() + kGraceAfterExit);
            }
        }
        auto now = Clock::now();
        if (exit_status && now >= *give_up_at) {
            std::string why = last_log_line(log_path, log_start);
            std::string what = WIFEXITED(*exit_status) && WEXITSTATUS(*exit_status) == 127
                                   ? "iserd (" + *iserd + ") could not be executed"
                                   : "iserd exited early (" + describe_exit(*exit_status) + ")";
            return make_error(EIO, what + (why.empty() ? "; see " + log_path : ": " + why));
        }
        if (now >= deadline)
            return make_error(ETIMEDOUT, "iserd did not open its socket " + socket_path + " within 10 s; see " + log_path);
        std::this_thread::sleep_for(kPollInterval);
    }
}

Result<control::Reply> call_starting_iserd(const control::ControlClient& client, const control::Request& request) {
    if (auto up = client.probe(); !up) {
        if (!control::is_not_running(up.error())) return up.take_error();
        ISER_TRY(start_iserd(client.socket_path()));
    }
    return client.call(request);
}

}  // namespace iser::cli
