#include "cli/apply_runner.hpp"

#include <cstdio>
#include <filesystem>
#include <map>

#include "cli/apply_programs.hpp"
#include "cli/apply_state.hpp"
#include "cli/daemon_starter.hpp"
#include "cli/login_settings.hpp"

namespace iser::cli {
namespace {

using config::Step;
using config::StepKind;

void progress(const std::string& line) { std::fprintf(stderr, "iserctl: apply: %s\n", line.c_str()); }

class Runner {
public:
    Runner(const config::Plan& plan, const control::ControlClient& client)
        : plan_(plan), client_(client), results_(plan.steps.size()) {}

    std::vector<StepResult> run() {
        for (std::size_t i = 0; i < plan_.steps.size(); ++i) {
            const Step& step = plan_.steps[i];
            StepResult& result = results_[i];
            if (auto blocker = failed_prerequisite(step)) {
                result.outcome = StepOutcome::skipped;
                result.message = "skipped because '" + config::describe(plan_.steps[*blocker]) + "' did not succeed";
                progress("skipped " + config::describe(step) + ": '" + config::describe(plan_.steps[*blocker]) +
                         "' did not succeed");
                continue;
            }
            Status status = execute(step, result);
            if (status) {
                result.outcome = StepOutcome::ok;
            } else {
                result.outcome = StepOutcome::failed;
                result.message = status.error().message;
                progress("failed: " + config::describe(step) + ": " + result.message);
            }
        }
        return std::move(results_);
    }

private:
    std::optional<std::size_t> failed_prerequisite(const Step& step) const {
        for (std::size_t before : step.after)
            if (before < results_.size() && results_[before].outcome != StepOutcome::ok) return before;
        return std::nullopt;
    }

    // The device of a mkfs/mount step: known at plan time, or attached by a login of this run.
    Result<std::string> device_of(const Step& step) const {
        if (!step.device.empty()) return step.device;
        auto it = attached_.find({step.target, step.lun.value_or(0)});
        if (it == attached_.end())
            return make_error(ENODEV, "LUN " + std::to_string(step.lun.value_or(0)) + " of target '" + step.target +
                                          "' was not attached by the login");
        return it->second;
    }

    Status execute(const Step& step, StepResult& result) {
        switch (step.kind) {
        case StepKind::unmount:
            result.device = step.device;
            return run_checked({"umount", step.mountpoint});
        case StepKind::logout: {
            result.device = step.device;
            control::LogoutRequest request;
            if (step.device.empty()) request.target = step.target;
            else request.device = step.device;
            auto reply = client_.logout(request);
            if (!reply) return reply.take_error();
            return {};
        }
        case StepKind::set_initiator_name:
            return write_initiator_name(kInitiatorNameFile, step.initiator_name);
        case StepKind::login: return login(step, result);
        case StepKind::mkfs: return mkfs(step, result);
        case StepKind::mkdir: {
            std::error_code ec;
            std::filesystem::create_directories(step.mountpoint, ec);
            if (ec) return make_error(ec.value(), "cannot create " + step.mountpoint + ": " + ec.message());
            return {};
        }
        case StepKind::mount: {
            auto device = device_of(step);
            if (!device) return device.take_error();
            result.device = *device;
            // _netdev: systemd then treats the mount as a network one, unmounted at shutdown
            // before remote-fs-pre.target goes, so before iser-apply.service logs out.
            std::string joined = "_netdev";
            for (const auto& o : step.options) joined += "," + o;
            std::vector<std::string> argv{"mount", "-t", step.fstype, "-o", joined};
            argv.insert(argv.end(), {*device, step.mountpoint});
            return run_checked(argv);
        }
        }
        return make_error(EINVAL, "unknown step");
    }

    Status login(const Step& step, StepResult& result) {
        progress(config::describe(step) + " ...");
        control::Request request = login_request(step.login);
        auto reply = call_starting_iserd(client_, request);
        if (!reply) return reply.take_error();
        const auto& login = std::get<control::LoginReply>(*reply);
        std::string devices;
        for (const auto& lun : login.attached) {
            attached_[{step.target, lun.lun}] = lun.path;
            devices += (devices.empty() ? "" : " ") + lun.path;
        }
        result.device = devices;
        for (const auto& skipped : login.skipped)
            progress("target '" + step.target + "': skipped LUN " + std::to_string(skipped.lun) + ": " + skipped.reason);
        if (step.lun && !attached_.count({step.target, *step.lun}))
            return make_error(ENODEV, "LUN " + std::to_string(*step.lun) + " of " + step.login.iqn + " was not attached");
        if (login.attached.empty()) return make_error(ENODEV, "no LUN of " + step.login.iqn + " could be attached");
        progress("logged in: " + devices);
        return {};
    }

    Status mkfs(const Step& step, StepResult& result) {
        auto device = device_of(step);
        if (!device) return device.take_error();
        result.device = *device;
        // Checked here even when the plan saw an empty device: never format over a signature.
        auto content = probe_device(*device);
        if (!content) return content.take_error();
        if (*content == config::DeviceContent::has_signature) {
            result.message = *device + " is not empty; left as is";
            progress("mkfs." + step.fstype + " " + *device + ": not empty, left as is");
            return {};
        }
        progress("mkfs." + step.fstype + " " + *device + " ...");
        return run_checked({"mkfs." + step.fstype, *device});
    }

    const config::Plan& plan_;
    const control::ControlClient& client_;
    std::vector<StepResult> results_;
    std::map<std::pair<std::string, std::uint32_t>, std::string> attached_;  // (target, lun) -> device
};

}  // namespace

std::vector<StepResult> run_plan(const config::Plan& plan, const control::ControlClient& client) {
    return Runner(plan, client).run();
}

const char* outcome_name(StepOutcome o) {
    switch (o) {
    case StepOutcome::planned: return "planned";
    case StepOutcome::ok: return "ok";
    case StepOutcome::failed: return "failed";
    case StepOutcome::skipped: return "skipped";
    }
    return "?";
}

}  // namespace iser::cli
