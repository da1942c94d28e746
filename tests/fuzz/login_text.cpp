// Fuzzes the iSCSI text codec: key=value parsing, SendTargets answers, target addresses and
// CHAP binary values. Must never crash, leak or read out of bounds.
#include <cstddef>
#include <cstdint>

#include "initiator/login/chap.hpp"
#include "initiator/login/text.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const iser::Bytes bytes(data, size);
    if (auto keys = iser::login::parse_text(bytes)) {
        for (const auto& [key, value] : *keys) {
            (void)iser::login::parse_target_address(value);
            (void)iser::login::chap::decode_binary(value);
        }
        // Round trip: what we parsed encodes back to text that parses to the same pairs.
        std::vector<std::uint8_t> again;
        iser::login::append_keys(again, *keys);
        auto reparsed = iser::login::parse_text(again);
        if (!reparsed || *reparsed != *keys) __builtin_trap();
    }
    (void)iser::login::parse_send_targets(bytes);
    return 0;
}
