#include "initiator/scsi/cdb.hpp"

#include "common/bytes.hpp"

namespace iser::scsi {
namespace {

constexpr std::uint8_t kFua = 0x08;   // byte 1 of READ/WRITE(10/16)
constexpr std::uint8_t kDbd = 0x08;   // byte 1 of MODE SENSE(6/10)
constexpr std::uint8_t kWriteSameUnmap = 0x08;
constexpr std::uint8_t kWriteSameNdob = 0x01;

Cdb rw10(std::uint8_t op, std::uint32_t lba, std::uint16_t blocks, bool fua) {
    Cdb c{};
    c[0] = op;
    c[1] = fua ? kFua : 0;
    store_be32(&c[2], lba);
    store_be16(&c[7], blocks);
    return c;
}

Cdb rw16(std::uint8_t op, std::uint64_t lba, std::uint32_t blocks, bool fua) {
    Cdb c{};
    c[0] = op;
    c[1] = fua ? kFua : 0;
    store_be64(&c[2], lba);
    store_be32(&c[10], blocks);
    return c;
}

}  // namespace

std::uint8_t cdb_length(const Cdb& cdb) {
    switch (cdb[0] >> 5) {
    case 0: return 6;
    case 1:
    case 2: return 10;
    case 4: return 16;
    case 5: return 12;
    default: return 0;
    }
}

Cdb test_unit_ready() { return Cdb{}; }

Cdb read10(std::uint32_t lba, std::uint16_t blocks, bool fua) { return rw10(opcode::Read10, lba, blocks, fua); }
Cdb write10(std::uint32_t lba, std::uint16_t blocks, bool fua) { return rw10(opcode::Write10, lba, blocks, fua); }
Cdb read16(std::uint64_t lba, std::uint32_t blocks, bool fua) { return rw16(opcode::Read16, lba, blocks, fua); }
Cdb write16(std::uint64_t lba, std::uint32_t blocks, bool fua) { return rw16(opcode::Write16, lba, blocks, fua); }

Cdb read_capacity10() {
    Cdb c{};
    c[0] = opcode::ReadCapacity10;
    return c;
}

Cdb read_capacity16(std::uint32_t alloc_len) {
    Cdb c{};
    c[0] = opcode::ServiceActionIn16;
    c[1] = kServiceActionReadCapacity16;
    store_be32(&c[10], alloc_len);
    return c;
}

Cdb inquiry(bool evpd, std::uint8_t page, std::uint16_t alloc_len) {
    Cdb c{};
    c[0] = opcode::Inquiry;
    c[1] = evpd ? 0x01 : 0x00;
    c[2] = page;
    store_be16(&c[3], alloc_len);
    return c;
}

Cdb report_luns(std::uint32_t alloc_len) {
    Cdb c{};
    c[0] = opcode::ReportLuns;
    store_be32(&c[6], alloc_len);
    return c;
}

Cdb synchronize_cache10(std::uint32_t lba, std::uint16_t blocks) {
    Cdb c{};
    c[0] = opcode::SynchronizeCache10;
    store_be32(&c[2], lba);
    store_be16(&c[7], blocks);
    return c;
}

Cdb synchronize_cache16(std::uint64_t lba, std::uint32_t blocks) {
    Cdb c{};
    c[0] = opcode::SynchronizeCache16;
    store_be64(&c[2], lba);
    store_be32(&c[10], blocks);
    return c;
}

Cdb unmap(std::uint16_t param_list_len) {
    Cdb c{};
    c[0] = opcode::Unmap;
    store_be16(&c[7], param_list_len);
    return c;
}

Cdb write_same16(std::uint64_t lba, std::uint32_t blocks, bool unmap, bool ndob) {
    Cdb c{};
    c[0] = opcode::WriteSame16;
    c[1] = std::uint8_t((unmap ? kWriteSameUnmap : 0) | (ndob ? kWriteSameNdob : 0));
    store_be64(&c[2], lba);
    store_be32(&c[10], blocks);
    return c;
}

Cdb mode_sense10(std::uint8_t page, std::uint8_t subpage, std::uint16_t alloc_len, bool dbd) {
    Cdb c{};
    c[0] = opcode::ModeSense10;
    c[1] = dbd ? kDbd : 0;
    c[2] = page & 0x3f;  // PC = 00b: current values
    c[3] = subpage;
    store_be16(&c[7], alloc_len);
    return c;
}

Cdb mode_sense6(std::uint8_t page, std::uint8_t subpage, std::uint8_t alloc_len, bool dbd) {
    Cdb c{};
    c[0] = opcode::ModeSense6;
    c[1] = dbd ? kDbd : 0;
    c[2] = page & 0x3f;
    c[3] = subpage;
    c[4] = alloc_len;
    return c;
}

}  // namespace iser::scsi
