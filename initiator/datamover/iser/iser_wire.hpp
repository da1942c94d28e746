// The bytes of iSER messages, without any RDMA: what one received message holds, and how a
// send is laid out. Pure functions, so the unit tests and the fuzzer can check them on a host
// that has no RDMA device. (No rdma-core header here.)
#pragma once
#include <cstdint>

#include "common/bytes.hpp"
#include "common/result.hpp"
#include "initiator/datamover/datamover.hpp"
#include "initiator/datamover/iser/region_table.hpp"
#include "initiator/pdu/iser_header.hpp"
#include "initiator/pdu/pdu.hpp"

namespace iser::datamover {

// Every iSER message starts with the iSER header, then the iSCSI BHS; data follows at 76.
inline constexpr std::size_t kIserPduHeaderBytes = pdu::kIserHeaderSize + pdu::kBhsSize;

// One receive completion, split. `data` points into the receive buffer.
struct ReceivedPdu {
    pdu::IserHeader iser;
    pdu::Bhs bhs;
    Bytes data;
};

// `message` is the received bytes (wc.byte_len of them). Fails with EPROTO when the message is
// shorter than its headers say, carries an iSER opcode other than "iSCSI control-type PDU",
// an unknown iSCSI opcode, or a data segment above max_data_segment.
Result<ReceivedPdu> parse_receive(Bytes message, std::uint32_t max_data_segment);

// The iSER header of a SCSI Command: `stag` and the addresses of the task buffer (READ: RSV +
// read STag/VA; WRITE: WSV + write STag/VA of what follows the immediate data).
pdu::IserHeader command_iser_header(const CommandPayload& payload, std::uint32_t stag);

// What of a command's buffer the target may touch, and how: READ data is RDMA-Written into the
// whole buffer; WRITE data after the immediate part is RDMA-Read. length 0: no remote access
// (no data, or every byte went as immediate data).
struct RemoteAccess {
    const std::uint8_t* base = nullptr;
    std::uint32_t length = 0;
    bool target_writes = false;  // READ: the target writes; WRITE: it only reads
};
RemoteAccess command_remote_access(const CommandPayload& payload);

// Finds the registered region of a command's buffer. Fails (EINVAL) when the buffer is not
// inside memory given to add_io_memory(); a command without data needs no region (nullptr).
Result<const Region*> command_region(const CommandPayload& payload, const RegionTable& regions);

// Writes [iSER header][BHS][data] into a send buffer; returns the bytes written.
// out.size() must be >= kIserPduHeaderBytes + data.size().
std::size_t write_send_buffer(MutableBytes out, const pdu::IserHeader& iser, const pdu::Bhs& bhs, Bytes data);

}  // namespace iser::datamover
