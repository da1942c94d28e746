// raise_fd_limit(): the soft RLIMIT_NOFILE goes up to the hard limit, never down. Run in a child
// process so the test binary's own limits stay as they were.
#include <doctest/doctest.h>

#include <sys/wait.h>
#include <unistd.h>

#include "daemon/fd_limit.hpp"

using iser::daemon::raise_fd_limit;

namespace {
// Runs `body` in a fork; returns its exit status (0 = all its checks held).
template <class F>
int in_child(F body) {
    pid_t pid = fork();
    if (pid == 0) _exit(body());
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 100;
}
}  // namespace

TEST_CASE("the soft open-file limit is raised to the hard limit") {
    CHECK(in_child([] {
              rlimit r{};
              getrlimit(RLIMIT_NOFILE, &r);
              rlim_t hard = r.rlim_max == RLIM_INFINITY ? 4096 : r.rlim_max;
              if (hard < 64) return 10;
              r = {64, hard};
              if (setrlimit(RLIMIT_NOFILE, &r) != 0) return 11;
              auto raised = raise_fd_limit();
              if (!raised || raised->before != 64 || raised->now != hard) return 12;
              getrlimit(RLIMIT_NOFILE, &r);
              return r.rlim_cur == hard ? 0 : 13;
          }) == 0);
}

TEST_CASE("a soft limit already at the hard limit is left alone") {
    CHECK(in_child([] {
              rlimit r{};
              getrlimit(RLIMIT_NOFILE, &r);
              r.rlim_cur = r.rlim_max = r.rlim_max == RLIM_INFINITY ? 4096 : r.rlim_max;
              if (setrlimit(RLIMIT_NOFILE, &r) != 0) return 11;
              auto raised = raise_fd_limit();
              if (!raised || raised->before != raised->now || raised->now != r.rlim_max) return 12;
              return 0;
          }) == 0);
}
