// iserctl apply runs mount(8), umount(8), mkfs.TYPE and blkid(8): fork/exec with an argv, never
// a shell, stdin from /dev/null, output captured so a failure is one line.
#pragma once
#include <string>
#include <vector>

#include "common/result.hpp"

namespace iser::cli {

struct ProgramResult {
    int exit_status = -1;     // -1 when killed by a signal
    std::string last_line;    // last non-empty line of its stdout+stderr
};

// Runs argv[0] (searched in PATH, with /usr/sbin and /sbin appended) and waits. Errors only
// when it cannot be started; ENOENT: "PROGRAM not found".
Result<ProgramResult> run_program(const std::vector<std::string>& argv);

// run_program, and an error unless it exits 0: "PROGRAM failed (exit status N): last line".
Status run_checked(const std::vector<std::string>& argv);

}  // namespace iser::cli
