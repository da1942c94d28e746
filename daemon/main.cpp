// iserd: attaches iSCSI/iSER LUNs and serves them as block devices; iserctl talks to it over a
// root-only unix socket.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <boost/program_options.hpp>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <thread>

#include "common/byte_size.hpp"
#include "common/log.hpp"
#include "control/control_api.hpp"
#include "control/server.hpp"
#include "daemon/fd_limit.hpp"
#include "daemon/initiator_name.hpp"
#include "daemon/manager.hpp"
#include "daemon/systemd_job.hpp"
#include "iser/version.hpp"
#include "ublk/device_record.hpp"

namespace po = boost::program_options;
using namespace iser;

namespace {

struct Options {
    bool foreground = false;
    std::string socket = control::kDefaultSocketPath;
    std::string log_level = "info";
    std::string initiator_name;
    std::string io_memory = "32M";
};

int parse_options(int argc, char** argv, Options& o) {
    po::options_description desc(
        "Usage: iserd [--foreground] [--socket PATH] [--log-level LEVEL] [--initiator-name IQN] [--io-memory SIZE]\n\n"
        "The iSER/iSCSI initiator daemon. iserctl starts it when needed; systemd runs it with --foreground.\n\n"
        "Options");
    desc.add_options()("help,h", "show this help and exit")("version", "show the version and exit")(
        "foreground,f", po::bool_switch(&o.foreground), "stay in the foreground (logs to stderr)")(
        "socket", po::value(&o.socket), "control socket path (default /run/iser/iserd.sock)")(
        "log-level", po::value(&o.log_level), "error, warning, info or debug (default info)")(
        "initiator-name", po::value(&o.initiator_name),
        "iSCSI name of this initiator (default: /etc/iser/initiatorname.iser, generated once)")(
        "io-memory", po::value(&o.io_memory)->value_name("SIZE"),
        "I/O memory of each session (one per ublk queue of a target), shared by its LUNs: 1M or more "
        "(default 32M; taken in 4M chunks as the load needs them; registered for RDMA over iSER)");
    po::variables_map vm;
    try {
        po::store(po::command_line_parser(argc, argv).options(desc).run(), vm);
        po::notify(vm);
    } catch (const po::error& e) {
        std::cerr << "iserd: " << e.what() << " (see iserd --help)\n";
        return 2;
    }
    if (vm.count("help")) {
        std::cout << desc << "\n";
        return 0;
    }
    if (vm.count("version")) {
        std::cout << "iserd " << kVersionLine << "\n";
        return 0;
    }
    return -1;
}

Result<LogLevel> level_from(const std::string& s) {
    if (s == "error") return LogLevel::Error;
    if (s == "warning") return LogLevel::Warning;
    if (s == "info") return LogLevel::Info;
    if (s == "debug") return LogLevel::Debug;
    return make_error(EINVAL, "unknown log level '" + s + "' (error, warning, info, debug)");
}

}  // namespace

int main(int argc, char** argv) {
    Options opts;
    if (int rc = parse_options(argc, argv, opts); rc >= 0) return rc;
    auto level = level_from(opts.log_level);
    if (!level) {
        std::cerr << "iserd: " << level.error().message << "\n";
        return 2;
    }
    auto io_memory = parse_byte_size(opts.io_memory);
    if (!io_memory || *io_memory < daemon::kMinIoMemoryBytes) {
        std::cerr << "iserd: --io-memory: "
                  << (io_memory ? "'" + opts.io_memory + "' is less than 1M (one largest request must fit)"
                                : io_memory.error().message)
                  << "\n";
        return 2;
    }
    if (geteuid() != 0) {
        std::cerr << "iserd: must run as root (it creates block devices and root-only sockets)\n";
        return 1;
    }
    Logger log(*level);
    if (auto fds = daemon::raise_fd_limit(); !fds)
        ISER_LOG_WARN(log, "%s; attaching many LUNs may fail with EMFILE", fds.error().message.c_str());
    else if (fds->now != fds->before)
        ISER_LOG_DEBUG(log, "open-file limit raised from %llu to %llu", (unsigned long long)fds->before,
                       (unsigned long long)fds->now);

    // Signals are taken by a dedicated thread (sigwait), so no handler needs global state.
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGTERM);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
    signal(SIGPIPE, SIG_IGN);
    umask(077);

    std::string name = opts.initiator_name;
    if (name.empty()) {
        auto n = daemon::load_or_create_initiator_name();
        if (!n) {
            std::cerr << "iserd: " << n.error().message << "\n";
            return 1;
        }
        name = *n;
    }

    int ready_pipe[2] = {-1, -1};
    if (!opts.foreground) {
        // Background: the parent exits once the child's socket is ready, so "iserd && iserctl"
        // never races the socket.
        if (pipe(ready_pipe) != 0) return 1;
        pid_t pid = fork();
        if (pid < 0) {
            std::cerr << "iserd: fork: " << std::strerror(errno) << "\n";
            return 1;
        }
        if (pid > 0) {
            close(ready_pipe[1]);
            char c = 0;
            ssize_t n = read(ready_pipe[0], &c, 1);
            return n == 1 && c == 'R' ? 0 : 1;
        }
        close(ready_pipe[0]);
        setsid();
    }

    std::unique_ptr<control::ControlServer> server;
    daemon::Manager manager(
        log, name,
        [&server] {
            if (server) server->stop();
        },
        std::size_t(*io_memory));
    auto created = control::ControlServer::create(opts.socket, manager, log);
    if (!created) {
        std::cerr << "iserd: " << created.error().message << "\n";
        return 1;
    }
    server = std::move(*created);
    ISER_LOG_INFO(log, "iserd ready: initiator %s, control socket %s, version %s", name.c_str(), opts.socket.c_str(),
                  kVersionLine);
    manager.recover_devices(ublk::kRecordDir);
    sd_notify(0, "READY=1");
    if (ready_pipe[1] >= 0) {
        [[maybe_unused]] auto n = write(ready_pipe[1], "R", 1);
        close(ready_pipe[1]);
        int devnull = open("/dev/null", O_RDWR);
        if (devnull >= 0) {
            dup2(devnull, 0);
            dup2(devnull, 1);
            close(devnull);
        }
    }

    // Set by the signal thread before it stops the server, read after run() returns.
    std::atomic<bool> restart_pending{false};
    // Set before main wakes the signal thread itself at exit: no signal to act on then.
    std::atomic<bool> exiting{false};
    std::thread signals([&] {
        int sig = 0;
        sigwait(&stop_signals, &sig);
        if (exiting) return;
        if (sig == SIGTERM) {
            // "systemctl restart iserd": the next iserd takes the devices over, so they must
            // survive this one. Asked only on SIGTERM (what systemd sends), and any failure
            // to ask means a plain stop.
            auto job = daemon::own_unit_job_type();
            if (job && daemon::job_type_is_restart(*job)) restart_pending = true;
            else if (!job) ISER_LOG_DEBUG(log, "cannot ask systemd why iserd stops: %s", job.error().message.c_str());
        }
        if (restart_pending)
            ISER_LOG_INFO(log, "signal %d during a systemd restart: exiting, devices kept for the next iserd", sig);
        else
            ISER_LOG_INFO(log, "signal %d: logging out and exiting", sig);
        server->stop();
    });
    server->run();
    sd_notify(0, "STOPPING=1");
    if (restart_pending || manager.keep_devices_requested()) {
        // Exit as a crash would, but on purpose: no device is stopped, no session logged
        // out. The kernel quiesces each ublk device when its /dev/ublkcN closes (user
        // recovery); its record in /run/iser/ublk names the login, so the next iserd takes it
        // over (same ISIDs, so the targets reinstate the sessions) and the queued I/O
        // resumes. _exit: destructors would detach. NBD devices do not survive this.
        server->remove_socket();  // as at a clean exit; no device is touched
        ISER_LOG_INFO(log, "iserd exiting; devices kept quiesced for the next iserd");
        std::fflush(nullptr);
        _exit(0);
    }
    if (!manager.detach_all()) {
        // A login or discovery still waits on its target (it has made no device): its worker
        // uses the manager, so no destructor may run. Everything attached is detached already.
        server->remove_socket();
        ISER_LOG_INFO(log, "iserd exiting");
        std::fflush(nullptr);
        _exit(0);
    }
    // Wake the signal thread if it is still waiting.
    exiting = true;
    pthread_kill(signals.native_handle(), SIGTERM);
    signals.join();
    ISER_LOG_INFO(log, "iserd exiting");
    return 0;
}
