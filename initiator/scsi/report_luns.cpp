#include "initiator/scsi/report_luns.hpp"

#include <algorithm>
#include <optional>
#include <string>

namespace iser::scsi {
namespace {

constexpr std::size_t kHeader = 8;
constexpr std::size_t kEntry = 8;
constexpr std::uint8_t kMethodPeripheral = 0;
constexpr std::uint8_t kMethodFlat = 1;

std::optional<std::uint32_t> decode_single_level(const std::uint8_t* e) {
    // Bytes 2..7 carry the second to fourth levels; a single-level LUN has them zero.
    if (std::any_of(e + 2, e + 8, [](std::uint8_t b) { return b != 0; })) return std::nullopt;
    switch (e[0] >> 6) {
    case kMethodPeripheral:
    case kMethodFlat:
        // Peripheral with bus 0 is plain byte 1; with bus != 0 this is how LIO (through
        // Linux int_to_scsilun) spells LUNs >= 256, and Linux decodes it the same way.
        return std::uint32_t(e[0] & 0x3f) << 8 | e[1];
    default:
        return std::nullopt;  // logical unit / extended addressing, well-known LUNs
    }
}

}  // namespace

Result<std::uint32_t> report_luns_total_length(Bytes d) {
    if (d.size() < kHeader)
        return make_error(EPROTO, "REPORT LUNS data too short: " + std::to_string(d.size()) +
                                      " bytes, need the 8-byte header");
    std::uint32_t len = load_be32(&d[0]);
    if (len > UINT32_MAX - kHeader)
        return make_error(EPROTO, "REPORT LUNS LUN LIST LENGTH " + std::to_string(len) + " is impossible");
    return std::uint32_t(kHeader + len);
}

Result<std::vector<ReportedLun>> parse_report_luns_entries(Bytes d) {
    auto total = report_luns_total_length(d);
    if (!total) return total.take_error();
    std::uint32_t list_len = *total - kHeader;
    if (list_len % kEntry != 0)
        return make_error(EPROTO, "REPORT LUNS LUN LIST LENGTH " + std::to_string(list_len) +
                                      " is not a multiple of 8");
    std::size_t present = std::min<std::size_t>(list_len, d.size() - kHeader) / kEntry;
    std::vector<ReportedLun> out;
    out.reserve(present);
    for (std::size_t i = 0; i < present; ++i) {
        const std::uint8_t* e = &d[kHeader + i * kEntry];
        if (auto lun = decode_single_level(e)) out.push_back({*lun, load_be64(e)});
    }
    return out;
}

Result<std::vector<std::uint32_t>> parse_report_luns(Bytes d) {
    auto entries = parse_report_luns_entries(d);
    if (!entries) return entries.take_error();
    std::vector<std::uint32_t> out;
    out.reserve(entries->size());
    for (const auto& e : *entries) out.push_back(e.lun);
    return out;
}

std::uint64_t encode_lun(std::uint32_t lun) {
    std::uint64_t first_level = lun < 256 ? lun : (0x4000u | (lun & 0x3fffu));
    return first_level << 48;
}

}  // namespace iser::scsi
