// SendTargets discovery: a short Discovery session on a loop thread of its own.
#pragma once
#include "common/log.hpp"
#include "control/control_api.hpp"

namespace iser::daemon {

Result<control::DiscoverReply> discover(Logger& log, const std::string& initiator_name, const std::string& host,
                                        std::uint16_t port, const std::string& transport);

}  // namespace iser::daemon
