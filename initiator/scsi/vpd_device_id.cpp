// VPD 0x83 device identification: walk the designation descriptors, pick a stable LU name.
#include "initiator/scsi/inquiry.hpp"

namespace iser::scsi {
namespace {

constexpr std::size_t kDescriptorHeader = 4;
constexpr std::uint8_t kAssociationLogicalUnit = 0;

std::string to_hex(const std::vector<std::uint8_t>& v) {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string s;
    s.reserve(v.size() * 2);
    for (auto b : v) {
        s.push_back(kHex[b >> 4]);
        s.push_back(kHex[b & 15]);
    }
    return s;
}

// Longest LU-associated designator of the given type, or nullptr. Longer NAA/EUI forms
// (IEEE Registered Extended, EUI-64 based 16-byte) carry more of the identity.
const Designator* longest(const std::vector<Designator>& ds, std::uint8_t type) {
    const Designator* best = nullptr;
    for (const auto& d : ds) {
        if (d.association != kAssociationLogicalUnit || d.type != type || d.value.empty()) continue;
        if (!best || d.value.size() > best->value.size()) best = &d;
    }
    return best;
}

}  // namespace

Result<std::vector<Designator>> parse_device_identification(Bytes d) {
    auto body = detail::vpd_body(d, 0x83, "device identification");
    if (!body) return body.take_error();
    Bytes b = *body;
    std::vector<Designator> out;
    std::size_t off = 0;
    while (off < b.size()) {
        if (b.size() - off < kDescriptorHeader)
            return make_error(EPROTO, "VPD page 0x83: designation descriptor at offset " + std::to_string(off + 4) +
                                          " has only " + std::to_string(b.size() - off) + " of its 4 header bytes");
        std::size_t len = b[off + 3];
        if (len > b.size() - off - kDescriptorHeader)
            return make_error(EPROTO, "VPD page 0x83: designator at offset " + std::to_string(off + 4) +
                                          " declares " + std::to_string(len) + " bytes, only " +
                                          std::to_string(b.size() - off - kDescriptorHeader) + " remain");
        Designator des;
        des.protocol_identifier = b[off] >> 4;
        des.code_set = b[off] & 0x0f;
        des.piv = b[off + 1] & 0x80;
        des.association = (b[off + 1] >> 4) & 0x3;
        des.type = b[off + 1] & 0x0f;
        auto v = b.subspan(off + kDescriptorHeader, len);
        des.value.assign(v.begin(), v.end());
        out.push_back(std::move(des));
        off += kDescriptorHeader + len;
    }
    return out;
}

std::string preferred_device_id(const std::vector<Designator>& ds) {
    if (const auto* d = longest(ds, designator_type::Naa)) return to_hex(d->value);
    if (const auto* d = longest(ds, designator_type::Eui64)) return to_hex(d->value);
    if (const auto* d = longest(ds, designator_type::T10VendorId)) return detail::ascii_field(d->value, false);
    if (const auto* d = longest(ds, designator_type::ScsiNameString)) return detail::ascii_field(d->value, false);
    return {};
}

}  // namespace iser::scsi
