#include "fake_target.hpp"

#include <algorithm>
#include <cstring>

#include "initiator/login/text.hpp"
#include "initiator/scsi/cdb.hpp"
#include "initiator/scsi/report_luns.hpp"

namespace fake {
using namespace iser;
namespace op = iser::scsi::opcode;

namespace {
constexpr std::uint8_t kGood = 0x00, kCheckCondition = 0x02;

std::uint32_t number(const std::string& v) { return std::uint32_t(std::stoul(v)); }

void put_ascii(std::uint8_t* dst, const char* text, std::size_t width) {
    std::memset(dst, ' ', width);
    std::memcpy(dst, text, std::min(width, std::strlen(text)));
}
}  // namespace

login::KeyValues answer_operational_keys(const login::KeyValues& offered, const TargetOptions& options) {
    login::KeyValues answer;
    const char* own = options.target_moves_data ? "TargetRecvDataSegmentLength" : "MaxRecvDataSegmentLength";
    bool own_offered = false;
    for (const auto& [k, v] : offered) {
        std::string a = v;
        if (k == "HeaderDigest" || k == "DataDigest") a = "None";
        else if (k == "InitialR2T") a = (options.initial_r2t || v == "Yes") ? "Yes" : "No";
        else if (k == "ImmediateData") a = (options.immediate_data && v == "Yes") ? "Yes" : "No";
        else if (k == "FirstBurstLength") a = std::to_string(std::min(number(v), options.first_burst_length));
        else if (k == "MaxBurstLength") a = std::to_string(std::min(number(v), options.max_burst_length));
        else if (k == "MaxRecvDataSegmentLength" || k == "TargetRecvDataSegmentLength")
            a = std::to_string(options.max_recv_data_segment_length);
        else if (k == "RDMAExtensions") a = options.target_moves_data ? "Yes" : "No";
        else if (k == "MaxOutstandingR2T") a = "1";
        if (k == own) own_offered = true;
        answer.emplace_back(k, a);
    }
    // A target declares its own receive limit even when the initiator did not mention it.
    if (!own_offered) answer.emplace_back(own, std::to_string(options.max_recv_data_segment_length));
    return answer;
}

std::vector<std::uint8_t> fixed_sense(std::uint8_t key, std::uint8_t asc, std::uint8_t ascq) {
    std::vector<std::uint8_t> s(18, 0);
    s[0] = 0x70;
    s[2] = key;
    s[7] = 10;
    s[12] = asc;
    s[13] = ascq;
    return s;
}

// ---------------------------------------------------------------------------- FakeDatamover

FakeDatamover::FakeDatamover(FakeTarget& target, EventLoop& loop, datamover::Events& events) : target_(target) {
    target_.attach(loop, events);
}
FakeDatamover::~FakeDatamover() { target_.detach(); }
Status FakeDatamover::send_pdu(const pdu::Bhs& bhs, Bytes data) {
    copies_.emplace_back(data.begin(), data.end());
    if (copies_.size() > 256) copies_.pop_front();
    return target_.send_pdu(bhs, Bytes(copies_.back()));
}
void FakeDatamover::connect(const std::string& host, std::uint16_t port, std::chrono::milliseconds) {
    target_.connect(host, port);
}

// ---------------------------------------------------------------------------- plumbing

FakeTarget::FakeTarget(TargetOptions o) : options(o) { luns[0] = FakeLun{}; }
FakeTarget::~FakeTarget() {
    if (live_) *live_ = false;
}

FakeLun& FakeTarget::lun(std::uint32_t n) {
    FakeLun& l = luns[n];
    if (l.data.size() != l.blocks * l.block_size) l.data.assign(l.blocks * l.block_size, 0);
    return l;
}

void FakeTarget::attach(EventLoop& loop, datamover::Events& events) {
    loop_ = &loop;
    events_ = &events;
    live_ = std::make_shared<bool>(true);
    full_feature_ = false;
    statsn_ = options.login_statsn;
    pending_.clear();
    held_.clear();
}

void FakeTarget::detach() {
    if (live_) *live_ = false;
    events_ = nullptr;
}

void FakeTarget::later(std::function<void()> fn) {
    loop_->defer([live = live_, fn = std::move(fn)] {
        if (*live) fn();
    });
}

void FakeTarget::violation(std::string what) { violations.push_back(std::move(what)); }

void FakeTarget::deliver(const pdu::Bhs& bhs, std::vector<std::uint8_t> data) {
    later([this, bhs, data = std::move(data)] { events_->on_pdu(bhs, Bytes(data)); });
}

void FakeTarget::deliver_data_in(const pdu::Bhs& bhs, Bytes payload) {
    std::vector<std::uint8_t> copy(payload.begin(), payload.end());
    later([this, bhs, copy = std::move(copy)] {
        MutableBytes dst = events_->data_in_placement(bhs);
        if (dst.size() != copy.size()) {
            violation("session refused the placement of a Data-In");
            return;
        }
        std::memcpy(dst.data(), copy.data(), copy.size());
        events_->on_pdu(bhs, Bytes(dst.data(), dst.size()));
    });
}

void FakeTarget::inject(const pdu::Bhs& bhs, std::vector<std::uint8_t> data) {
    if (bhs.opcode() != pdu::Opcode::DataIn || data.empty()) return deliver(bhs, std::move(data));
    later([this, bhs, data = std::move(data)] {
        MutableBytes dst = events_->data_in_placement(bhs);
        if (dst.size() != data.size()) {
            auto* ev = events_;
            *live_ = false;
            events_ = nullptr;
            full_feature_ = false;
            pending_.clear();
            held_.clear();
            ev->on_disconnected(make_error(EPROTO, "target sent Data-In that matches no buffer"));
            return;
        }
        std::memcpy(dst.data(), data.data(), data.size());
        events_->on_pdu(bhs, Bytes(dst.data(), dst.size()));
    });
}

void FakeTarget::connect(const std::string& host, std::uint16_t port) {
    const std::string portal = host + ":" + std::to_string(port);
    connects.push_back(portal);
    connect_times.push_back(std::chrono::steady_clock::now());
    const bool refused = std::find(options.refuse_portals.begin(), options.refuse_portals.end(), portal) !=
                         options.refuse_portals.end();
    later([this, refused] {
        if (options.connect_fails || refused) {
            auto* ev = events_;
            *live_ = false;
            events_ = nullptr;
            ev->on_disconnected(make_error(ECONNREFUSED, "connection refused"));
            return;
        }
        events_->on_connected();
    });
}

void FakeTarget::close() {
    ++closes;
    if (live_) *live_ = false;
    events_ = nullptr;
    full_feature_ = false;
    pending_.clear();
    held_.clear();
}

void FakeTarget::disconnect() {
    later([this] {
        auto* ev = events_;
        *live_ = false;
        events_ = nullptr;
        full_feature_ = false;
        pending_.clear();
        held_.clear();
        ev->on_disconnected(make_error(ECONNRESET, "fake target dropped the connection"));
    });
}

Status FakeTarget::add_io_memory(const IoMemory&) {
    ++io_allocations;
    return {};
}

Status FakeTarget::enter_full_feature(const datamover::FeatureParams& params) {
    feature_ = params;
    full_feature_ = true;
    ++logins;
    if (params.max_send_data_segment != options.max_recv_data_segment_length)
        violation("datamover told to send segments of " + std::to_string(params.max_send_data_segment) +
                  " but the target declared " + std::to_string(options.max_recv_data_segment_length));
    return {};
}

// ---------------------------------------------------------------------------- login

void FakeTarget::on_login(const pdu::Bhs& bhs, Bytes data) {
    auto req = pdu::decode_login_request(bhs);
    if (!req) return violation("bad Login Request: " + req.error().message);
    login_requests.push_back(*req);
    auto keys = login::parse_text(data);
    if (!keys) return violation("bad login text: " + keys.error().message);

    pdu::LoginResponse r;
    r.csg = req->csg;
    r.isid = req->isid;
    r.itt = req->itt;
    r.statsn = statsn_++;
    r.expcmdsn = req->cmdsn;
    expcmdsn_ = answered_base_ = req->cmdsn;
    r.maxcmdsn = req->cmdsn + options.window - 1;
    login::KeyValues answer;
    if (options.login_failure) {
        r.status_class = options.login_failure->first;
        r.status_detail = options.login_failure->second;
    } else if (req->csg == 0) {
        answer = {{"AuthMethod", "None"}, {"TargetPortalGroupTag", "1"}};
        r.transit = req->transit;
        r.nsg = req->transit ? req->nsg : 0;
    } else {
        for (const auto& [k, v] : *keys) {
            login_keys[k] = v;
            if (k == "MaxRecvDataSegmentLength" || k == "InitiatorRecvDataSegmentLength") initiator_mrdsl_ = number(v);
        }
        answer = answer_operational_keys(*keys, options);
        r.transit = req->transit;
        r.nsg = req->transit ? req->nsg : 0;
        if (r.transit && r.nsg == 3) r.tsih = options.tsih;
    }
    std::vector<std::uint8_t> text;
    login::append_keys(text, answer);
    r.data_length = std::uint32_t(text.size());
    deliver(pdu::encode(r), std::move(text));
}

// ---------------------------------------------------------------------------- full feature phase

void FakeTarget::check_cmdsn(std::uint32_t cmdsn, bool immediate, const char* what) {
    if (cmdsn != expcmdsn_)
        violation(std::string(what) + " CmdSN " + std::to_string(cmdsn) + ", expected " + std::to_string(expcmdsn_));
    if (immediate) return;
    if (!sn_le(cmdsn, maxcmdsn()))
        violation(std::string(what) + " CmdSN " + std::to_string(cmdsn) + " beyond MaxCmdSN " + std::to_string(maxcmdsn()));
    expcmdsn_ = cmdsn + 1;
}

void FakeTarget::check_expstatsn(std::uint32_t expstatsn, const char* what) {
    // The initiator can only acknowledge statuses it has been sent.
    if (sn_lt(statsn_, expstatsn))
        violation(std::string(what) + " ExpStatSN " + std::to_string(expstatsn) + " ahead of StatSN " + std::to_string(statsn_));
}

Status FakeTarget::send_pdu(const pdu::Bhs& bhs, Bytes data) {
    if (!events_) return make_error(ENOTCONN, "fake: not connected");
    if (bhs.data_segment_length() != data.size())
        violation(std::string(pdu::opcode_name(bhs.opcode())) + " DataSegmentLength " +
                  std::to_string(bhs.data_segment_length()) + " but " + std::to_string(data.size()) + " bytes given");
    switch (bhs.opcode()) {
        case pdu::Opcode::LoginRequest: on_login(bhs, data); break;
        case pdu::Opcode::DataOut: on_data_out(bhs, data); break;
        case pdu::Opcode::NopOut: on_nop_out(bhs, data); break;
        case pdu::Opcode::LogoutRequest: on_logout(bhs); break;
        case pdu::Opcode::TaskMgmtRequest: on_task_mgmt(bhs); break;
        default: violation(std::string("unexpected ") + pdu::opcode_name(bhs.opcode()) + " through send_pdu"); break;
    }
    return {};
}

Status FakeTarget::send_command(const pdu::Bhs& bhs, const datamover::CommandPayload& payload) {
    if (!events_) return make_error(ENOTCONN, "fake: not connected");
    auto cmd = pdu::decode_scsi_command(bhs);
    if (!cmd) {
        violation("bad SCSI Command: " + cmd.error().message);
        return {};
    }
    if (!full_feature_) violation("SCSI Command before the full feature phase");
    CommandRecord rec{*cmd, bhs.data_segment_length(), payload.immediate_bytes, outstanding(), ended_commands.size()};
    commands.push_back(rec);
    check_cmdsn(cmd->cmdsn, cmd->immediate, "SCSI Command");
    check_expstatsn(cmd->expstatsn, "SCSI Command");
    const std::uint32_t imm = rec.immediate;
    if (imm != payload.immediate_bytes) violation("command data segment differs from payload.immediate_bytes");
    if (imm && !cmd->write) violation("immediate data on a non-write command");
    if (imm > max_immediate_bytes()) violation("immediate data above the target's receive segment");
    if (imm && login_keys.count("ImmediateData") && !options.immediate_data) violation("immediate data although ImmediateData=No");
    if (imm > std::min(options.first_burst_length, cmd->expected_length)) violation("immediate data above FirstBurstLength");
    if (payload.length != cmd->expected_length || payload.read != cmd->read || payload.write != cmd->write)
        violation("CommandPayload disagrees with the BHS");
    if (pending_.count(cmd->itt)) violation("ITT reused while in flight");

    Pending& p = pending_[cmd->itt];
    p = Pending{};
    p.cmd = *cmd;
    p.payload = payload;
    if (cmd->write) {
        p.data.assign(cmd->expected_length, 0);
        p.covered.assign(cmd->expected_length, 0);
        if (imm) {
            std::memcpy(p.data.data(), payload.buffer, imm);
            std::fill_n(p.covered.begin(), imm, 1);
        }
        p.received = p.unsolicited = imm;
        p.unsolicited_open = !cmd->final;
    } else if (!cmd->final) {
        violation("F bit clear on a command without write data");
    }
    max_outstanding = std::max(max_outstanding, outstanding());
    if (options.target_moves_data) {
        if (!cmd->final) violation("unsolicited Data-Out announced on iSER");
        ready(cmd->itt);
    } else if (cmd->write) {
        if (p.unsolicited_open && options.initial_r2t) violation("unsolicited Data-Out although InitialR2T=Yes");
        data_complete_or_solicit(cmd->itt);
    } else {
        ready(cmd->itt);
    }
    return {};
}

void FakeTarget::on_data_out(const pdu::Bhs& bhs, Bytes data) {
    auto d = pdu::decode_data_out(bhs);
    if (!d) return violation("bad Data-Out: " + d.error().message);
    data_outs.push_back({*d});
    check_expstatsn(d->expstatsn, "Data-Out");
    if (options.target_moves_data) return violation("Data-Out on an iSER connection");
    auto it = pending_.find(d->itt);
    if (it == pending_.end()) return violation("Data-Out for unknown ITT");
    Pending& p = it->second;
    const std::uint32_t len = std::uint32_t(data.size());
    if (len > options.max_recv_data_segment_length) violation("Data-Out larger than MaxRecvDataSegmentLength");
    if (len == 0) violation("empty Data-Out");
    if (d->buffer_offset > p.data.size() || len > p.data.size() - d->buffer_offset)
        return violation("Data-Out outside the command's buffer");
    bool sequence_end = false;
    if (d->ttt == pdu::kReservedTag) {
        if (!p.unsolicited_open) return violation("unsolicited Data-Out not announced by the command");
        if (d->datasn != p.unsolicited_datasn++) violation("unsolicited Data-Out DataSN out of order");
        if (d->buffer_offset != p.unsolicited) violation("unsolicited Data-Out not contiguous");
        p.unsolicited = d->buffer_offset + len;
        if (p.unsolicited > options.first_burst_length) violation("unsolicited data beyond FirstBurstLength");
        if (d->final) p.unsolicited_open = false;
        sequence_end = d->final;
    } else {
        if (d->ttt != p.r2t_ttt) return violation("Data-Out with a TTT that is not outstanding");
        if (d->datasn != p.r2t_datasn++) violation("solicited Data-Out DataSN out of order");
        if (d->buffer_offset != p.r2t_offset) violation("solicited Data-Out not contiguous");
        if (d->buffer_offset + len > p.r2t_end) violation("solicited Data-Out beyond the R2T's desired length");
        p.r2t_offset = d->buffer_offset + len;
        if (d->final != (p.r2t_offset == p.r2t_end)) violation("F bit does not end the R2T's sequence");
        if (d->final) p.r2t_ttt = pdu::kReservedTag;
        sequence_end = d->final;
    }
    for (std::uint32_t i = 0; i < len; ++i) {
        if (p.covered[d->buffer_offset + i]) {
            violation("write data received twice");
            break;
        }
    }
    std::memcpy(p.data.data() + d->buffer_offset, data.data(), len);
    std::fill_n(p.covered.begin() + d->buffer_offset, len, 1);
    p.received += len;
    if (sequence_end) data_complete_or_solicit(d->itt);
}

void FakeTarget::data_complete_or_solicit(std::uint32_t itt) {
    Pending& p = pending_[itt];
    if (p.unsolicited_open || p.r2t_ttt != pdu::kReservedTag) return;
    if (p.received >= p.cmd.expected_length) return ready(itt);
    p.next_solicit = std::max(p.next_solicit, p.unsolicited);
    pdu::R2T r;
    r.lun = p.cmd.lun;
    r.itt = itt;
    r.ttt = p.r2t_ttt = next_ttt_++;
    r.statsn = statsn_;
    r.expcmdsn = expcmdsn_;
    r.maxcmdsn = maxcmdsn();
    r.r2tsn = p.r2tsn++;
    r.buffer_offset = p.r2t_offset = p.next_solicit;
    r.desired_length = std::min(options.max_burst_length, p.cmd.expected_length - p.next_solicit);
    p.r2t_end = r.buffer_offset + r.desired_length;
    p.r2t_datasn = 0;
    p.next_solicit = p.r2t_end;
    r2ts.push_back({itt, r.ttt, r.buffer_offset, r.desired_length});
    deliver(pdu::encode(r), {});
}

void FakeTarget::ready(std::uint32_t itt) {
    if (options.hold_commands) {
        held_.push_back(itt);
        return;
    }
    later([this, itt] { execute(itt); });
}

void FakeTarget::release(std::size_t n) {
    while (n-- > 0 && !held_.empty()) {
        std::uint32_t itt = held_.front();
        held_.pop_front();
        later([this, itt] { execute(itt); });
    }
}

void FakeTarget::execute(std::uint32_t itt) {
    auto it = pending_.find(itt);
    if (it == pending_.end()) return;
    Pending& p = it->second;
    if (options.target_moves_data && p.cmd.write) {
        // "RDMA Read" of everything after the immediate data.
        const std::uint32_t imm = p.received;
        if (p.cmd.expected_length > imm) {
            if (!p.payload.buffer) return violation("iSER write without a buffer");
            std::memcpy(p.data.data() + imm, p.payload.buffer + imm, p.cmd.expected_length - imm);
            p.received = p.cmd.expected_length;
        }
    }
    for (auto inj = injections.begin(); inj != injections.end(); ++inj) {
        if (inj->opcode && *inj->opcode != p.cmd.cdb[0]) continue;
        Injection chosen = *inj;
        if (--inj->times <= 0) injections.erase(inj);
        if (chosen.kind == Injection::Kind::Drop) return;  // stays pending, never answered
        if (chosen.kind == Injection::Kind::Reject) {
            pdu::Reject rej;
            rej.reason = 0x09;  // invalid PDU field
            const pdu::ScsiCommand rejected = p.cmd;
            rej.statsn = next_statsn();
            answered_base_++;
            pending_.erase(itt);
            rej.expcmdsn = expcmdsn_;
            rej.maxcmdsn = maxcmdsn();
            rej.datasn = 0;
            auto hdr = pdu::encode(rejected);
            rej.data_length = pdu::kBhsSize;
            deliver(pdu::encode(rej), std::vector<std::uint8_t>(hdr.bytes.begin(), hdr.bytes.end()));
            return;
        }
        ScsiResult r;
        r.status = chosen.status;
        if (chosen.status == kCheckCondition) r.sense = fixed_sense(chosen.key, chosen.asc, chosen.ascq);
        return respond(p, r);
    }
    respond(p, run_scsi(p.cmd, Bytes(p.data)));
}

void FakeTarget::respond(Pending& p, const ScsiResult& r) {
    const pdu::ScsiCommand cmd = p.cmd;
    const datamover::CommandPayload payload = p.payload;
    pending_.erase(cmd.itt);
    answered_base_++;

    std::uint32_t n = 0, residual = 0;
    bool underflow = false, overflow = false;
    if (cmd.read && r.status == kGood) {
        n = std::uint32_t(std::min<std::size_t>(r.data.size(), cmd.expected_length));
        underflow = r.data.size() < cmd.expected_length;
        overflow = r.data.size() > cmd.expected_length;
        residual = underflow ? cmd.expected_length - n : std::uint32_t(r.data.size() - n);
    }
    if (n && !options.target_moves_data) {
        const std::uint32_t chunk = options.data_in_size ? options.data_in_size : initiator_mrdsl_;
        if (chunk > initiator_mrdsl_) violation("test asks for Data-In above the initiator's MaxRecvDataSegmentLength");
        std::uint32_t datasn = 0;
        for (std::uint32_t off = 0; off < n; off += chunk) {
            const std::uint32_t len = std::min(chunk, n - off);
            const bool last = off + len == n;
            pdu::DataIn d;
            d.lun = cmd.lun;
            d.itt = cmd.itt;
            d.datasn = datasn++;
            d.buffer_offset = off;
            d.data_length = len;
            d.expcmdsn = expcmdsn_;
            d.maxcmdsn = maxcmdsn();
            d.final = last;
            if (last && options.phase_collapse) {
                d.has_status = true;
                d.status = r.status;
                d.underflow = underflow;
                d.overflow = overflow;
                d.residual = residual;
                d.statsn = next_statsn();
            }
            deliver_data_in(pdu::encode(d), Bytes(r.data.data() + off, len));
        }
        if (options.phase_collapse) return;
    } else if (n) {
        // "RDMA Write" of the read data straight into the task's buffer.
        std::vector<std::uint8_t> copy(r.data.begin(), r.data.begin() + n);
        later([copy = std::move(copy), buffer = payload.buffer] { std::memcpy(buffer, copy.data(), copy.size()); });
    }
    pdu::ScsiResponse resp;
    resp.itt = cmd.itt;
    resp.status = r.status;
    resp.underflow = underflow;
    resp.overflow = overflow;
    resp.residual = residual;
    resp.statsn = next_statsn();
    resp.expcmdsn = expcmdsn_;
    resp.maxcmdsn = maxcmdsn();
    std::vector<std::uint8_t> seg;
    if (!r.sense.empty()) {
        seg.resize(2 + r.sense.size());
        store_be16(seg.data(), std::uint16_t(r.sense.size()));
        std::memcpy(seg.data() + 2, r.sense.data(), r.sense.size());
        while (seg.size() % 4) seg.push_back(0);
    }
    resp.data_length = std::uint32_t(seg.size());
    deliver(pdu::encode(resp), std::move(seg));
}

void FakeTarget::on_nop_out(const pdu::Bhs& bhs, Bytes data) {
    auto nop = pdu::decode_nop_out(bhs);
    if (!nop) return violation("bad NOP-Out: " + nop.error().message);
    nop_outs.push_back({*nop, std::vector<std::uint8_t>(data.begin(), data.end())});
    if (options.read_nop_data_later) {
        const std::size_t index = nop_outs.size() - 1;
        later([this, index, data] { nop_outs[index].data.assign(data.begin(), data.end()); });
    }
    if (!nop->immediate) violation("NOP-Out without the I bit");
    check_cmdsn(nop->cmdsn, true, "NOP-Out");
    check_expstatsn(nop->expstatsn, "NOP-Out");
    if (nop->itt == pdu::kReservedTag) {
        if (nop->ttt == pdu::kReservedTag) violation("NOP-Out with neither ITT nor TTT");
        return;  // the answer to our ping: recorded
    }
    if (nop->ttt != pdu::kReservedTag) violation("NOP-Out ping with a TTT");
    if (!options.answer_pings) return;
    pdu::NopIn in;
    in.itt = nop->itt;
    in.lun = nop->lun;
    in.statsn = next_statsn();
    in.expcmdsn = expcmdsn_;
    in.maxcmdsn = maxcmdsn();
    in.data_length = std::uint32_t(data.size());
    deliver(pdu::encode(in), std::vector<std::uint8_t>(data.begin(), data.end()));
}

void FakeTarget::on_logout(const pdu::Bhs& bhs) {
    auto req = pdu::decode_logout_request(bhs);
    if (!req) return violation("bad Logout Request: " + req.error().message);
    logout_requests.push_back(*req);
    check_cmdsn(req->cmdsn, req->immediate, "Logout Request");
    check_expstatsn(req->expstatsn, "Logout Request");
    if (!pending_.empty()) violation("Logout Request with commands in flight");
    if (!options.answer_logout) return;
    pdu::LogoutResponse r;
    r.itt = req->itt;
    r.statsn = next_statsn();
    r.expcmdsn = expcmdsn_;
    r.maxcmdsn = maxcmdsn();
    deliver(pdu::encode(r), {});
}

void FakeTarget::on_task_mgmt(const pdu::Bhs& bhs) {
    auto req = pdu::decode_task_mgmt_request(bhs);
    if (!req) return violation("bad Task Management Request: " + req.error().message);
    tmf_requests.push_back(*req);
    if (!req->immediate) violation("Task Management Request without the I bit");
    check_cmdsn(req->cmdsn, true, "Task Management Request");
    check_expstatsn(req->expstatsn, "Task Management Request");
    pdu::TaskMgmtResponse r;
    r.itt = req->itt;
    if (req->function == 1) {
        if (!options.answer_abort) return;
        auto it = pending_.find(req->referenced_itt);
        if (it != pending_.end() && it->second.cmd.cmdsn != req->refcmdsn) violation("ABORT TASK RefCmdSN mismatch");
        r.response = options.abort_response ? *options.abort_response : (it != pending_.end() ? 0 : 1);
        if (r.response == 0 && it != pending_.end()) {
            pending_.erase(it);
            std::erase(held_, req->referenced_itt);
            answered_base_++;
        }
    } else if (req->function == 5) {
        if (!options.answer_lun_reset) return;
        r.response = options.lun_reset_response;
        if (r.response == 0) {
            for (auto it = pending_.begin(); it != pending_.end();) {
                if (pdu::decode_lun(it->second.cmd.lun) == pdu::decode_lun(req->lun)) {
                    std::erase(held_, it->first);
                    it = pending_.erase(it);
                    answered_base_++;
                } else {
                    ++it;
                }
            }
        }
    } else {
        r.response = 5;  // function rejected
    }
    r.statsn = next_statsn();
    r.expcmdsn = expcmdsn_;
    r.maxcmdsn = maxcmdsn();
    deliver(pdu::encode(r), {});
}

void FakeTarget::async_event(std::uint8_t event, std::uint16_t param2, std::uint16_t param3) {
    pdu::AsyncMessage m;
    m.lun = 0;
    m.event = event;
    m.param2 = param2;
    m.param3 = param3;
    m.statsn = next_statsn();
    m.expcmdsn = expcmdsn_;
    m.maxcmdsn = maxcmdsn();
    deliver(pdu::encode(m), {});
}

void FakeTarget::ping(std::uint32_t ttt, std::vector<std::uint8_t> data) {
    pdu::NopIn in;
    in.ttt = ttt;
    in.statsn = statsn_;  // not advanced: ITT is 0xffffffff
    in.expcmdsn = expcmdsn_;
    in.maxcmdsn = maxcmdsn();
    in.data_length = std::uint32_t(data.size());
    deliver(pdu::encode(in), std::move(data));
}

void FakeTarget::set_window(std::uint32_t window) {
    options.window = window;
    pdu::NopIn in;  // unsolicited, no answer wanted: only carries the new MaxCmdSN
    in.statsn = statsn_;
    in.expcmdsn = expcmdsn_;
    in.maxcmdsn = maxcmdsn();
    deliver(pdu::encode(in), {});
}

void FakeTarget::request_logout() {
    pdu::AsyncMessage m;
    m.lun = 0;
    m.event = 1;
    m.param3 = 2;
    m.statsn = next_statsn();
    m.expcmdsn = expcmdsn_;
    m.maxcmdsn = maxcmdsn();
    deliver(pdu::encode(m), {});
}

void FakeTarget::send_garbage_response(std::uint32_t itt) {
    pdu::ScsiResponse r;
    r.itt = itt;
    r.statsn = next_statsn();
    r.expcmdsn = expcmdsn_;
    r.maxcmdsn = maxcmdsn();
    deliver(pdu::encode(r), {});
}

void FakeTarget::send_garbage_data_in(std::uint32_t itt, std::uint32_t bytes) {
    pdu::DataIn d;
    d.itt = itt;
    d.final = true;
    d.has_status = true;
    d.data_length = bytes;
    d.statsn = next_statsn();
    d.expcmdsn = expcmdsn_;
    d.maxcmdsn = maxcmdsn();
    std::vector<std::uint8_t> data(bytes, 0xee);
    deliver_data_in(pdu::encode(d), Bytes(data.data(), data.size()));
}

// ---------------------------------------------------------------------------- the memory disk

FakeTarget::ScsiResult FakeTarget::run_scsi(const pdu::ScsiCommand& cmd, Bytes write_data) {
    ScsiResult r;
    const std::uint8_t* cdb = cmd.cdb.data();
    auto check = [&](std::uint8_t key, std::uint8_t asc, std::uint8_t ascq = 0) {
        r.status = kCheckCondition;
        r.sense = fixed_sense(key, asc, ascq);
        r.data.clear();
        return r;
    };
    const std::uint32_t lun_no = pdu::decode_lun(cmd.lun);
    if (cdb[0] == op::ReportLuns) {
        r.data.assign(8 + 8 * luns.size(), 0);
        store_be32(r.data.data(), std::uint32_t(8 * luns.size()));
        std::size_t i = 0;
        for (const auto& [n, l] : luns) store_be64(r.data.data() + 8 + 8 * i++, scsi::encode_lun(n));
        r.data.resize(std::min<std::size_t>(r.data.size(), load_be32(cdb + 6)));
        return r;
    }
    if (!luns.count(lun_no)) return check(0x05, 0x25);  // LOGICAL UNIT NOT SUPPORTED
    FakeLun& l = lun(lun_no);
    const std::uint32_t bs = l.block_size;
    auto range_ok = [&](std::uint64_t lba, std::uint64_t blocks) { return lba <= l.blocks && blocks <= l.blocks - lba; };
    switch (cdb[0]) {
        case op::TestUnitReady: return r;
        case op::Inquiry: {
            const bool evpd = cdb[1] & 1;
            const std::uint16_t alloc = load_be16(cdb + 3);
            if (!evpd) {
                r.data.assign(96, 0);
                r.data[0] = l.device_type;
                r.data[2] = 0x06;
                r.data[3] = 0x02;
                r.data[4] = 96 - 5;
                r.data[7] = 0x02;  // CMDQUE
                put_ascii(&r.data[8], "FAKE", 8);
                put_ascii(&r.data[16], "MEMDISK", 16);
                put_ascii(&r.data[32], "0001", 4);
            } else {
                switch (cdb[2]) {
                    case 0x00: r.data = {l.device_type, 0x00, 0x00, 4, 0x00, 0x80, 0xb0, 0xb2}; break;
                    case 0x80:
                        r.data = {l.device_type, 0x80, 0x00, std::uint8_t(l.serial.size())};
                        r.data.insert(r.data.end(), l.serial.begin(), l.serial.end());
                        break;
                    case 0xb0:
                        r.data.assign(64, 0);
                        r.data[1] = 0xb0;
                        r.data[3] = 0x3c;
                        store_be32(&r.data[8], l.max_transfer_blocks);
                        if (l.thin) {
                            store_be32(&r.data[20], l.max_unmap_lba_count);
                            store_be32(&r.data[24], 1);
                            store_be32(&r.data[28], 8);
                        }
                        store_be64(&r.data[36], 4096);
                        break;
                    case 0xb2:
                        r.data = {l.device_type, 0xb2, 0x00, 4, 0, std::uint8_t(l.thin ? 0xc0 : 0), std::uint8_t(l.thin ? 2 : 0), 0};
                        break;
                    default: return check(0x05, 0x24);
                }
            }
            if (r.data.size() > alloc) r.data.resize(alloc);
            return r;
        }
        case op::ServiceActionIn16: {
            if ((cdb[1] & 0x1f) != scsi::kServiceActionReadCapacity16) return check(0x05, 0x24);
            r.data.assign(32, 0);
            store_be64(&r.data[0], l.blocks - 1);
            store_be32(&r.data[8], bs);
            if (l.thin) r.data[14] = 0x80;
            r.data.resize(std::min<std::size_t>(32, load_be32(cdb + 10)));
            return r;
        }
        case op::ModeSense10: {
            if ((cdb[2] & 0x3f) != scsi::mode_page::Caching) return check(0x05, 0x24);
            r.data.assign(8 + 20, 0);
            store_be16(&r.data[0], std::uint16_t(r.data.size() - 2));
            r.data[3] = l.dpofua ? 0x10 : 0;
            r.data[8] = 0x08;
            r.data[9] = 0x12;
            r.data[10] = l.write_cache ? 0x04 : 0;
            r.data.resize(std::min<std::size_t>(r.data.size(), load_be16(cdb + 7)));
            return r;
        }
        case op::Read16:
        case op::Write16: {
            const std::uint64_t lba = load_be64(cdb + 2);
            const std::uint32_t blocks = load_be32(cdb + 10);
            if (!range_ok(lba, blocks)) return check(0x05, 0x21);
            if (std::uint64_t(blocks) * bs != cmd.expected_length) violation("transfer length differs from the CDB");
            if (cdb[0] == op::Read16) {
                r.data.assign(l.data.begin() + lba * bs, l.data.begin() + (lba + blocks) * bs);
            } else {
                if (write_data.size() < std::size_t(blocks) * bs) return check(0x05, 0x24);
                std::memcpy(l.data.data() + lba * bs, write_data.data(), std::size_t(blocks) * bs);
            }
            return r;
        }
        case op::SynchronizeCache16: return r;
        case op::Unmap: {
            unmap_lists.emplace_back(write_data.begin(), write_data.end());
            if (write_data.size() < 8) return check(0x05, 0x26);
            const std::uint16_t desc_len = load_be16(write_data.data() + 2);
            if (8u + desc_len > write_data.size() || desc_len % 16) return check(0x05, 0x26);
            for (std::size_t off = 8; off < 8u + desc_len; off += 16) {
                const std::uint64_t lba = load_be64(write_data.data() + off);
                const std::uint32_t blocks = load_be32(write_data.data() + off + 8);
                if (!range_ok(lba, blocks)) return check(0x05, 0x21);
                std::memset(l.data.data() + lba * bs, 0, std::size_t(blocks) * bs);
            }
            return r;
        }
        case op::WriteSame16: {
            const std::uint64_t lba = load_be64(cdb + 2);
            const std::uint32_t blocks = load_be32(cdb + 10);
            if (!range_ok(lba, blocks)) return check(0x05, 0x21);
            write_same_blocks.emplace_back(write_data.begin(), write_data.end());
            if (write_data.size() != bs) return check(0x05, 0x24);
            for (std::uint32_t b = 0; b < blocks; ++b) std::memcpy(l.data.data() + (lba + b) * bs, write_data.data(), bs);
            return r;
        }
        default: return check(0x05, 0x20);  // INVALID COMMAND OPERATION CODE
    }
}

}  // namespace fake
