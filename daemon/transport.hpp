// Chooses the datamover for a transport name ("tcp" or "iser").
#pragma once
#include <string>

#include "common/result.hpp"
#include "initiator/session/session.hpp"

namespace iser::daemon {

Result<session::DatamoverFactory> datamover_factory(const std::string& transport);

}  // namespace iser::daemon
