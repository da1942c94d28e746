#include "nbd/session.hpp"

#include <algorithm>

namespace iser::nbd {

ExportInfo make_export_info(const BlockGeometry& g, std::string name) {
    ExportInfo info;
    info.name = std::move(name);
    info.description = g.name;
    info.size = g.size_bytes;
    std::uint16_t flags = kFlagHasFlags | kFlagSendWriteZeroes;
    // Every connection shares one backend on one loop thread, and a backend Flush covers every
    // write completed before it, whichever connection sent it: what CAN_MULTI_CONN promises.
    flags |= kFlagCanMultiConn;
    if (g.volatile_cache) flags |= kFlagSendFlush;
    if (g.fua) flags |= kFlagSendFua;
    if (g.discard) flags |= kFlagSendTrim;
    if (g.read_only) flags |= kFlagReadOnly;
    info.transmission_flags = flags;
    info.block_sizes.minimum = std::max<std::uint32_t>(1, g.logical_block_size);
    info.block_sizes.maximum = std::max(g.max_io_bytes, info.block_sizes.minimum);
    info.block_sizes.preferred =
        std::min(std::max<std::uint32_t>(4096, g.physical_block_size), info.block_sizes.maximum);
    return info;
}

std::uint32_t validate_request(const Request& r, const ExportInfo& info) {
    const bool read_only = info.transmission_flags & kFlagReadOnly;
    const std::uint32_t min = info.block_sizes.minimum;
    auto range_ok = [&](std::uint64_t max_length) {
        return r.length != 0 && r.length <= max_length && r.offset % min == 0 && r.length % min == 0 &&
               r.offset <= info.size && r.length <= info.size - r.offset;
    };
    switch (r.type) {
        case kCmdRead:
            return range_ok(info.block_sizes.maximum) ? 0 : kErrInval;
        case kCmdWrite:
            if (read_only) return kErrPerm;
            return range_ok(info.block_sizes.maximum) ? 0 : kErrInval;
        case kCmdFlush:
            return 0;
        case kCmdTrim:
            if (!(info.transmission_flags & kFlagSendTrim)) return kErrInval;
            if (read_only) return kErrPerm;
            return range_ok(UINT32_MAX) ? 0 : kErrInval;
        case kCmdWriteZeroes:
            if (read_only) return kErrPerm;
            return range_ok(UINT32_MAX) ? 0 : kErrInval;
        default:
            return kErrInval;  // CACHE, BLOCK_STATUS...: not advertised
    }
}

ServerSession::ServerSession(ExportInfo info, bool transmission_only) : info_(std::move(info)) {
    if (transmission_only) {
        phase_ = Phase::Transmission;
        return;
    }
    append_server_greeting(output_, kFlagFixedNewstyle | kFlagNoZeroes);
}

ServerSession::Step ServerSession::close(const char* reason, bool graceful) {
    phase_ = Phase::Closed;
    Step s;
    s.kind = StepKind::Closed;
    s.reason = reason;
    s.graceful = graceful;
    return s;
}

ServerSession::Step ServerSession::step(Bytes input) {
    switch (phase_) {
        case Phase::ClientFlags: return step_client_flags(input);
        case Phase::Options: return step_option(input);
        case Phase::Transmission: return payload_remaining_ ? step_payload(input) : step_request(input);
        case Phase::Closed: break;
    }
    return close("session already closed", false);
}

ServerSession::Step ServerSession::step_client_flags(Bytes input) {
    if (input.size() < kClientFlagsSize) return {};
    auto flags = decode_client_flags(input.first(kClientFlagsSize));
    if (!flags) return close("client set unknown handshake flags", false);
    fixed_newstyle_ = *flags & kClientFlagFixedNewstyle;
    no_zeroes_ = *flags & kClientFlagNoZeroes;
    phase_ = Phase::Options;
    Step s;
    s.kind = StepKind::Handled;
    s.consumed = kClientFlagsSize;
    return s;
}

ServerSession::Step ServerSession::step_option(Bytes input) {
    if (input.size() < kOptionHeaderSize) return {};
    auto header = decode_option_header(input.first(kOptionHeaderSize));
    if (!header) return close("bad option magic", false);
    if (header->length > kMaxOptionLength) return close("option data longer than 16 KiB", false);
    if (input.size() - kOptionHeaderSize < header->length) return {};
    Step s = handle_option(header->option, input.subspan(kOptionHeaderSize, header->length));
    s.consumed = kOptionHeaderSize + header->length;
    return s;
}

ServerSession::Step ServerSession::handle_option(std::uint32_t option, Bytes data) {
    Step handled;
    handled.kind = StepKind::Handled;
    if (!fixed_newstyle_ && option != kOptExportName)
        return close("non-fixed-newstyle client sent an option other than EXPORT_NAME", false);
    switch (option) {
        case kOptExportName: {
            std::string_view name(reinterpret_cast<const char*>(data.data()), data.size());
            // The protocol gives this option no way to report an error: the server hangs up.
            if (!name.empty() && name != info_.name) return close("EXPORT_NAME for an unknown export", false);
            append_export_name_reply(output_, info_.size, info_.transmission_flags, no_zeroes_);
            phase_ = Phase::Transmission;
            return handled;
        }
        case kOptAbort:
            append_option_reply(output_, option, kRepAck);
            return close("client sent ABORT", true);
        case kOptList:
            if (!data.empty()) {
                append_option_error(output_, option, kRepErrInvalid, "LIST takes no data");
                return handled;
            }
            append_rep_server(output_, option, info_.name);
            append_option_reply(output_, option, kRepAck);
            return handled;
        case kOptInfo:
        case kOptGo:
            return handle_info(option, data);
        case kOptListMetaContext:
        case kOptSetMetaContext:
            // Only valid after structured replies, which this server does not offer.
            append_option_error(output_, option, kRepErrInvalid, "structured replies not negotiated");
            return handled;
        default:
            // STRUCTURED_REPLY, STARTTLS and anything newer: simple replies, no TLS on a unix socket.
            append_option_error(output_, option, kRepErrUnsup, "option not supported");
            return handled;
    }
}

ServerSession::Step ServerSession::handle_info(std::uint32_t option, Bytes data) {
    Step handled;
    handled.kind = StepKind::Handled;
    auto request = decode_info_request(data);
    if (!request) {
        append_option_error(output_, option, kRepErrInvalid, request.error().message);
        return handled;
    }
    if (!request->name.empty() && request->name != info_.name) {
        append_option_error(output_, option, kRepErrUnknown, "unknown export");
        return handled;
    }
    append_info_export(output_, option, info_.size, info_.transmission_flags);
    bool want_name = false, want_description = false;
    for (auto type : request->info_types) {
        if (type == kInfoName) want_name = true;
        if (type == kInfoDescription) want_description = true;
    }
    if (want_name) append_info_string(output_, option, kInfoName, info_.name);
    if (want_description && !info_.description.empty())
        append_info_string(output_, option, kInfoDescription, info_.description);
    // Sent even when not asked for (the protocol allows it): requests breaking these sizes get EINVAL.
    append_info_block_size(output_, option, info_.block_sizes);
    append_option_reply(output_, option, kRepAck);
    if (option == kOptGo) phase_ = Phase::Transmission;
    return handled;
}

ServerSession::Step ServerSession::step_request(Bytes input) {
    if (input.size() < kRequestSize) return {};
    auto request = decode_request(input.first(kRequestSize));
    if (!request) return close("bad request magic", false);
    if (request->type == kCmdDisc) {
        Step s = close("client sent DISC", true);
        s.consumed = kRequestSize;
        return s;
    }
    if (request->type == kCmdWrite && request->length > kMaxDiscardedPayload)
        return close("WRITE payload longer than 64 MiB", false);
    Step s;
    s.kind = StepKind::Request;
    s.consumed = kRequestSize;
    s.request = *request;
    s.error = validate_request(*request, info_);
    if (request->type == kCmdWrite) payload_remaining_ = request->length;
    return s;
}

ServerSession::Step ServerSession::step_payload(Bytes input) {
    if (input.empty()) return {};
    std::size_t n = std::min<std::size_t>(input.size(), payload_remaining_);
    Step s;
    s.kind = StepKind::Payload;
    s.consumed = n;
    s.payload = input.first(n);
    s.payload_done = payload_received(n);
    return s;
}

bool ServerSession::payload_received(std::size_t bytes) {
    payload_remaining_ -= std::uint32_t(std::min<std::size_t>(bytes, payload_remaining_));
    return payload_remaining_ == 0;
}

}  // namespace iser::nbd
