// Fuzzes LoginMachine::feed with arbitrary Login Responses after start(). Must never crash.
// Input: one config byte (bit0 CHAP, bit0+1 mutual, bit2 iSER, bit3 discovery, bit4 MD5 only,
// bit5 CRC32C offered, bit6 InitialR2T=Yes, bit7 ImmediateData=No), then records until the input ends or the login ends:
//   u8 flags  bit0 T, bit1 C, bits2-3 CSG, bits4-5 NSG, bit6 a foreign ITT/ISID (else those
//             of the last request), bit7 take CSG from the last request
//   u8 status class, u8 status detail, u16 TSIH, u32 StatSN, u16 data length, data
#include <cstddef>
#include <cstdint>

#include "initiator/login/login.hpp"

namespace {

struct Reader {
    const std::uint8_t* p;
    std::size_t left;
    bool take(std::size_t n, const std::uint8_t** out) {
        if (left < n) return false;
        *out = p;
        p += n;
        left -= n;
        return true;
    }
};

iser::login::LoginConfig config_for(std::uint8_t c) {
    using namespace iser::login;
    LoginConfig cfg;
    cfg.initiator_name = "iqn.2024-01.org.example:fuzz";
    cfg.target_name = "iqn.2024-01.org.example:target";
    cfg.isid = {0x80, 1, 2, 3, 4, 5};
    cfg.itt = 7;
    cfg.cmdsn = 1;
    if (c & 1) cfg.auth.chap = ChapCredentials{"fuzz-user", "fuzz-secret-1"};
    if ((c & 3) == 3) cfg.auth.mutual = ChapCredentials{"fuzz-target", "fuzz-secret-2"};
    cfg.offer.iser = c & 4;
    if (c & 8) cfg.type = SessionType::Discovery;
    if (c & 16) cfg.auth.algorithms = {ChapAlgorithm::Md5};
    cfg.offer.header_digest_crc32c = c & 32;
    cfg.offer.initial_r2t = c & 64;
    cfg.offer.immediate_data = !(c & 128);
    return cfg;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1) return 0;
    iser::login::LoginMachine machine(config_for(data[0]));
    auto first = machine.start();
    if (!first) return 0;
    iser::pdu::LoginRequest last = first->header;
    Reader in{data + 1, size - 1};
    const std::uint8_t* h;
    while (in.take(9, &h)) {
        iser::pdu::LoginResponse r;
        r.transit = h[0] & 1;
        r.cont = h[0] & 2;
        r.csg = (h[0] & 0x80) ? last.csg : (h[0] >> 2) & 3;
        r.nsg = (h[0] >> 4) & 3;
        if (h[0] & 0x40) {
            r.itt = 0xdead;  // and a zero ISID
        } else {
            r.itt = last.itt;
            r.isid = last.isid;
        }
        r.status_class = h[1];
        r.status_detail = h[2];
        r.tsih = std::uint16_t(h[3] << 8 | h[4]);
        r.statsn = iser::load_be32(h + 5);
        const std::uint8_t* len;
        if (!in.take(2, &len)) break;
        std::size_t n = std::size_t(len[0] << 8 | len[1]);
        if (n > in.left) n = in.left;
        const std::uint8_t* body = nullptr;
        (void)in.take(n, &body);
        r.data_length = std::uint32_t(n);
        auto step = machine.feed(r, iser::Bytes(body, n));
        if (!step || !step->next) break;
        last = step->next->header;
    }
    return 0;
}
