// Fuzzes the ublk device record decoder (ublk/device_record.cpp): a restarted iserd reads these
// files from /run/iser/ublk to re-attach quiesced devices, so a corrupt or planted file must be
// refused with an error, never crash it. Whatever decodes must survive encode -> decode unchanged
// (the daemon rewrites records it read).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "ublk/device_record.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace iser::ublk;
    auto r = decode_record(std::string_view(reinterpret_cast<const char*>(data), size));
    if (!r) {
        if (r.error().message.empty()) std::abort();
        return 0;
    }
    if (r->dev_id < 0 || r->cookie == 0) std::abort();
    auto again = decode_record(encode_record(*r));
    if (!again || !(*again == *r)) std::abort();
    return 0;
}
