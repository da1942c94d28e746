// libFuzzer target: every parser of the SCSI layer on the same arbitrary bytes, plus the
// consumers of their results (describe, errno mapping, device id choice, UNMAP list).
// Checks a few invariants so that "no crash" is not the only thing verified.
#include <cstdlib>
#include <vector>

#include "initiator/scsi/scsi.hpp"

using namespace iser;
using namespace iser::scsi;

namespace {

void check(bool ok) {
    if (!ok) std::abort();
}

void fuzz_sense(Bytes d) {
    for (auto r : {parse_sense(d), parse_iscsi_sense_segment(d)}) {
        if (!r) {
            check(r.error().code == EPROTO && !r.error().message.empty());
            continue;
        }
        check(!describe(*r).empty());
        int e = sense_to_errno(*r);
        check(e >= 0);
        check(sense_is_retryable(*r) == (e == EAGAIN));
        (void)sense_to_errno(*r, d.empty() ? 0 : d[0]);
    }
}

void fuzz_inquiry(Bytes d) {
    if (auto r = parse_standard_inquiry(d)) check(r->vendor.size() <= 8 && r->product.size() <= 16);
    (void)vpd_total_length(d);
    (void)parse_supported_vpd_pages(d);
    (void)parse_unit_serial(d);
    if (auto r = parse_device_identification(d)) (void)preferred_device_id(*r);
    (void)parse_block_limits_vpd(d);
    (void)parse_lbp_vpd(d);
}

void fuzz_other(Bytes d) {
    if (auto r = parse_read_capacity16(d)) check(r->num_blocks != 0 && r->block_size != 0);
    (void)parse_read_capacity10(d);
    if (auto r = parse_report_luns_entries(d)) {
        check(r->size() <= (d.size() - 8) / 8);
        for (const auto& e : *r) check(e.lun < 16384);
    }
    (void)parse_report_luns(d);
    (void)report_luns_total_length(d);
    (void)parse_caching_page_mode_sense10(d);
    (void)parse_caching_page_mode_sense6(d);
    (void)parse_dpofua_mode_sense10(d);
}

void fuzz_unmap(Bytes d) {
    std::vector<UnmapExtent> ext;
    for (std::size_t off = 0; off + 12 <= d.size(); off += 12)
        ext.push_back({load_be64(&d[off]), load_be32(&d[off + 8])});
    std::vector<std::uint8_t> out(d.empty() ? 0 : d[0] * 4);
    std::size_t n = build_unmap_parameter_list(ext, out);
    check(n == 0 || (n == unmap_parameter_list_size(ext.size()) && n <= out.size()));
    if (n) check(load_be16(&out[0]) == n - 2);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    Bytes d(data, size);
    fuzz_sense(d);
    fuzz_inquiry(d);
    fuzz_other(d);
    fuzz_unmap(d);
    return 0;
}
