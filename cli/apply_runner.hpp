// Runs the steps of an apply plan in order. A step whose prerequisites (Step::after) did not
// all succeed is skipped; a failed step does not stop independent ones.
#pragma once
#include <string>
#include <vector>

#include "config/plan.hpp"
#include "control/client.hpp"

namespace iser::cli {

enum class StepOutcome { planned, ok, failed, skipped };

struct StepResult {
    StepOutcome outcome = StepOutcome::planned;
    std::string message;  // failed: the error; skipped: why; ok: a note (e.g. "not empty, left as is")
    std::string device;   // the device the step worked on, once known
};

// Progress for slow steps (login, mkfs) and every failure go to stderr as they happen.
std::vector<StepResult> run_plan(const config::Plan& plan, const control::ControlClient& client);

const char* outcome_name(StepOutcome o);

}  // namespace iser::cli
