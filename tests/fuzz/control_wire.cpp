// Fuzzes the control-socket decoders with untrusted lines: decode_request must return a Result
// (never throw, crash or leak), and whatever it accepts must re-encode and decode to the same op.
// The same input is also fed to decode_reply for every op.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "control/wire.hpp"

using namespace iser::control;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view line(reinterpret_cast<const char*>(data), size);
    auto request = decode_request(line);
    if (request.ok()) {
        auto again = decode_request(encode_request(*request));
        if (!again.ok() || again->index() != request->index()) std::abort();
    }
    const Request ops[] = {DiscoverRequest{}, LoginRequest{}, LogoutRequest{}, ListRequest{}, ShutdownRequest{}};
    for (const auto& op : ops) {
        auto reply = decode_reply(op, line);
        if (reply.ok()) {
            auto again = decode_reply(op, encode_reply(*reply));
            if (!again.ok()) std::abort();
        }
    }
    return 0;
}
