#include "initiator/datamover/iser/iser_wire.hpp"

#include <cstring>
#include <string>

namespace iser::datamover {

Result<ReceivedPdu> parse_receive(Bytes message, std::uint32_t max_data_segment) {
    if (message.size() < kIserPduHeaderBytes)
        return make_error(EPROTO, "iSER message of " + std::to_string(message.size()) +
                                      " bytes, shorter than its 76-byte headers");
    auto iser = pdu::decode_iser_header(message.first(pdu::kIserHeaderSize));
    if (!iser) return iser.take_error();
    if ((iser->flags & 0xf0) != pdu::kIserOpcodeControl)
        return make_error(EPROTO, "iSER Hello/HelloReply received; only iSCSI control-type PDUs are supported");
    ReceivedPdu out;
    out.iser = *iser;
    std::memcpy(out.bhs.bytes.data(), message.data() + pdu::kIserHeaderSize, pdu::kBhsSize);
    auto framing = pdu::parse_framing(out.bhs, max_data_segment);
    if (!framing) return framing.take_error();
    // The data segment is not padded on iSER (the Send carries its exact length), but a target
    // may pad it: accept anything at least as long as the header says.
    const std::size_t data_at = kIserPduHeaderBytes + framing->ahs_bytes;
    const std::size_t need = data_at + framing->data_bytes;
    if (message.size() < need)
        return make_error(EPROTO, "PDU declares " + std::to_string(framing->data_bytes) + " data bytes but only " +
                                      std::to_string(message.size()) + " bytes were received");
    out.data = message.subspan(data_at, framing->data_bytes);
    return out;
}

pdu::IserHeader command_iser_header(const CommandPayload& payload, std::uint32_t stag) {
    pdu::IserHeader h;
    h.flags = pdu::kIserOpcodeControl;
    const auto va = reinterpret_cast<std::uintptr_t>(payload.buffer);
    if (payload.read && payload.length > 0) {
        h.flags |= pdu::kIserReadStagValid;
        h.read_stag = stag;
        h.read_va = va;
    }
    if (payload.write && payload.length > payload.immediate_bytes) {
        h.flags |= pdu::kIserWriteStagValid;
        h.write_stag = stag;
        h.write_va = va + payload.immediate_bytes;
    }
    return h;
}

RemoteAccess command_remote_access(const CommandPayload& payload) {
    if (payload.read && payload.length > 0) return {payload.buffer, payload.length, true};
    if (payload.write && payload.length > payload.immediate_bytes)
        return {payload.buffer + payload.immediate_bytes, payload.length - payload.immediate_bytes, false};
    return {};
}

Result<const Region*> command_region(const CommandPayload& payload, const RegionTable& regions) {
    if (payload.length == 0 || !(payload.read || payload.write)) return static_cast<const Region*>(nullptr);
    if (payload.write && payload.immediate_bytes > payload.length)
        return make_error(EINVAL, "immediate data larger than the command's buffer");
    const Region* r = regions.find(payload.buffer, payload.length);
    if (!r) return make_error(EINVAL, "SCSI command buffer is not inside registered I/O memory");
    return r;
}

std::size_t write_send_buffer(MutableBytes out, const pdu::IserHeader& iser, const pdu::Bhs& bhs, Bytes data) {
    pdu::encode_iser_header(iser, out);
    std::memcpy(out.data() + pdu::kIserHeaderSize, bhs.bytes.data(), pdu::kBhsSize);
    if (!data.empty()) std::memcpy(out.data() + kIserPduHeaderBytes, data.data(), data.size());
    return kIserPduHeaderBytes + data.size();
}

}  // namespace iser::datamover
