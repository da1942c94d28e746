#include "initiator/scsi/inquiry.hpp"

namespace iser::scsi {
namespace {

constexpr std::size_t kStandardInquiryMin = 36;  // up to and including PRODUCT REVISION LEVEL
constexpr std::size_t kVpdHeader = 4;

}  // namespace

namespace detail {

std::string hex_byte(std::uint8_t v) {
    static constexpr char kHex[] = "0123456789abcdef";
    return {'0', 'x', kHex[v >> 4], kHex[v & 15]};
}

std::string ascii_field(Bytes f, bool trim_leading) {
    auto blank = [](std::uint8_t c) { return c == ' ' || c == '\0'; };
    std::size_t b = 0, e = f.size();
    while (e > b && blank(f[e - 1])) --e;
    while (trim_leading && b < e && blank(f[b])) ++b;
    std::string s;
    s.reserve(e - b);
    for (std::size_t i = b; i < e; ++i) s.push_back(f[i] >= 0x20 && f[i] < 0x7f ? char(f[i]) : '?');
    return s;
}

Result<Bytes> vpd_body(Bytes d, std::uint8_t page, const char* page_name) {
    if (d.size() < kVpdHeader)
        return make_error(EPROTO, std::string("VPD page ") + hex_byte(page) + " (" + page_name + ") too short: " +
                                      std::to_string(d.size()) + " bytes, need a 4-byte header");
    if (d[1] != page)
        return make_error(EPROTO, std::string("VPD page ") + hex_byte(page) + " (" + page_name +
                                      ") requested but the target returned page " + hex_byte(d[1]));
    std::size_t len = load_be16(&d[2]);
    if (len > d.size() - kVpdHeader)
        return make_error(EPROTO, std::string("VPD page ") + hex_byte(page) + " (" + page_name + ") truncated: " +
                                      std::to_string(kVpdHeader + len) + " bytes announced, " +
                                      std::to_string(d.size()) + " received (raise the allocation length)");
    return d.subspan(kVpdHeader, len);
}

}  // namespace detail

Result<StandardInquiry> parse_standard_inquiry(Bytes d) {
    if (d.size() < kStandardInquiryMin)
        return make_error(EPROTO, "standard INQUIRY data too short: " + std::to_string(d.size()) +
                                      " bytes, need 36");
    // ADDITIONAL LENGTH counts the bytes after byte 4; SPC requires at least 31 (36 in all).
    if (std::size_t(d[4]) + 5 < kStandardInquiryMin)
        return make_error(EPROTO, "standard INQUIRY ADDITIONAL LENGTH " + std::to_string(d[4]) +
                                      " is below the 31 bytes every target must return");
    StandardInquiry q;
    q.peripheral_qualifier = d[0] >> 5;
    q.device_type = d[0] & 0x1f;
    q.removable = d[1] & 0x80;
    q.version = d[2];
    q.response_data_format = d[3] & 0x0f;
    q.hisup = d[3] & 0x10;
    q.tpgs = (d[5] >> 4) & 0x3;
    q.protect = d[5] & 0x01;
    q.cmdque = d[7] & 0x02;
    q.vendor = detail::ascii_field(d.subspan(8, 8), false);
    q.product = detail::ascii_field(d.subspan(16, 16), false);
    q.revision = detail::ascii_field(d.subspan(32, 4), false);
    return q;
}

Result<std::size_t> vpd_total_length(Bytes d) {
    if (d.size() < kVpdHeader)
        return make_error(EPROTO, "VPD data too short: " + std::to_string(d.size()) + " bytes, need a 4-byte header");
    return kVpdHeader + load_be16(&d[2]);
}

Result<std::vector<std::uint8_t>> parse_supported_vpd_pages(Bytes d) {
    auto body = detail::vpd_body(d, 0x00, "supported VPD pages");
    if (!body) return body.take_error();
    return std::vector<std::uint8_t>(body->begin(), body->end());
}

Result<std::string> parse_unit_serial(Bytes d) {
    auto body = detail::vpd_body(d, 0x80, "unit serial number");
    if (!body) return body.take_error();
    return detail::ascii_field(*body, true);
}

}  // namespace iser::scsi
