#include "initiator/scsi/mode_sense.hpp"

#include <algorithm>
#include <string>

namespace iser::scsi {
namespace {

constexpr std::uint8_t kCachingPage = 0x08;
constexpr std::uint8_t kPageCodeMask = 0x3f;
constexpr std::uint8_t kSpf = 0x40;  // sub_page format: 4-byte page header
constexpr std::size_t kCachingMinLength = 3;  // page bytes up to byte 2 (WCE, RCD)

Result<CachingPage> find_caching_page(Bytes d, const ModeHeader& h) {
    // Mode data length may exceed what was received (allocation length): walk what we have.
    std::size_t end = std::min(d.size(), h.data_length);
    std::size_t off = h.header_size + h.block_descriptor_length;
    if (off > end)
        return make_error(EPROTO, "MODE SENSE block descriptor length " + std::to_string(h.block_descriptor_length) +
                                      " runs past the " + std::to_string(end) + " bytes of mode data");
    while (off < end) {
        std::uint8_t code = d[off] & kPageCodeMask;
        bool spf = d[off] & kSpf;
        std::size_t hdr = spf ? 4 : 2;
        if (end - off < hdr) break;
        std::size_t page_len = hdr + (spf ? load_be16(&d[off + 2]) : d[off + 1]);
        if (code == kCachingPage && !spf) {
            if (page_len < kCachingMinLength || end - off < kCachingMinLength)
                return make_error(EPROTO, "MODE SENSE caching page (0x08) truncated");
            return CachingPage{bool(d[off + 2] & 0x04), bool(d[off + 2] & 0x01)};
        }
        if (page_len > end - off) break;
        off += page_len;
    }
    return make_error(EPROTO, "MODE SENSE data does not contain the caching page (0x08)");
}

}  // namespace

Result<ModeHeader> parse_mode_header10(Bytes d) {
    if (d.size() < 8)
        return make_error(EPROTO, "MODE SENSE(10) data too short: " + std::to_string(d.size()) +
                                      " bytes, need the 8-byte header");
    ModeHeader h;
    h.header_size = 8;
    h.data_length = std::size_t(load_be16(&d[0])) + 2;  // the length field excludes itself
    h.medium_type = d[2];
    h.write_protect = d[3] & 0x80;
    h.dpofua = d[3] & 0x10;
    h.long_lba = d[4] & 0x01;
    h.block_descriptor_length = load_be16(&d[6]);
    if (h.data_length < h.header_size)
        return make_error(EPROTO, "MODE SENSE(10) mode data length " + std::to_string(h.data_length - 2) +
                                      " is shorter than its own header");
    return h;
}

Result<ModeHeader> parse_mode_header6(Bytes d) {
    if (d.size() < 4)
        return make_error(EPROTO, "MODE SENSE(6) data too short: " + std::to_string(d.size()) +
                                      " bytes, need the 4-byte header");
    ModeHeader h;
    h.header_size = 4;
    h.data_length = std::size_t(d[0]) + 1;
    h.medium_type = d[1];
    h.write_protect = d[2] & 0x80;
    h.dpofua = d[2] & 0x10;
    h.block_descriptor_length = d[3];
    if (h.data_length < h.header_size)
        return make_error(EPROTO, "MODE SENSE(6) mode data length " + std::to_string(d[0]) +
                                      " is shorter than its own header");
    return h;
}

Result<CachingPage> parse_caching_page_mode_sense10(Bytes d) {
    auto h = parse_mode_header10(d);
    if (!h) return h.take_error();
    return find_caching_page(d, *h);
}

Result<CachingPage> parse_caching_page_mode_sense6(Bytes d) {
    auto h = parse_mode_header6(d);
    if (!h) return h.take_error();
    return find_caching_page(d, *h);
}

bool parse_dpofua_mode_sense10(Bytes d) {
    auto h = parse_mode_header10(d);
    return h && h->dpofua;
}

}  // namespace iser::scsi
