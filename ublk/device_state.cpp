#include "ublk/device_state.hpp"

#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <fstream>
#include <iterator>

namespace iser::ublk {

std::string state_name(std::uint16_t state) {
    switch (state) {
        case uapi::kStateDead: return "DEAD";
        case uapi::kStateLive: return "LIVE";
        case uapi::kStateQuiesced: return "QUIESCED";
        default: return "UNKNOWN(" + std::to_string(state) + ")";
    }
}

bool has_recovery_reissue(const uapi::DevInfo& info) {
    constexpr std::uint64_t both = uapi::kFlagUserRecovery | uapi::kFlagUserRecoveryReissue;
    return (info.flags & both) == both;
}

RecoveryCheck check_recovery(const uapi::DevInfo& info, bool server_alive) {
    const std::string dev = "ublk device " + std::to_string(info.dev_id);
    if (!(info.flags & uapi::kFlagUserRecovery))
        return {RecoveryVerdict::Refuse, dev + " was created without user recovery: it cannot be re-attached "
                                               "(delete it and create a new one)"};
    switch (info.state) {
        case uapi::kStateQuiesced: return {RecoveryVerdict::Ready, {}};
        case uapi::kStateLive:
            if (server_alive)
                return {RecoveryVerdict::Refuse, dev + " is live (state LIVE, served by pid " +
                                                     std::to_string(info.ublksrv_pid) + "), not waiting for recovery"};
            return {RecoveryVerdict::WaitForQuiesce, dev + " is still LIVE although its server (pid " +
                                                         std::to_string(info.ublksrv_pid) +
                                                         ") is gone: the kernel has not quiesced it yet"};
        case uapi::kStateDead:
            return {RecoveryVerdict::Refuse, dev + " was never started or was stopped (state DEAD): nothing to "
                                                   "recover (delete it)"};
        default:
            return {RecoveryVerdict::Refuse, dev + " is in state " + state_name(info.state) + ", not waiting for recovery"};
    }
}

BlockGeometry geometry_from_params(const uapi::Params& p) {
    BlockGeometry g;
    const auto& b = p.basic;
    g.size_bytes = b.dev_sectors << 9;
    g.logical_block_size = 1u << b.logical_bs_shift;
    g.physical_block_size = 1u << b.physical_bs_shift;
    g.max_io_bytes = b.max_sectors << 9;
    g.read_only = (b.attrs & uapi::kAttrReadOnly) != 0;
    g.volatile_cache = (b.attrs & uapi::kAttrVolatileCache) != 0;
    g.fua = (b.attrs & uapi::kAttrFua) != 0;
    if (p.types & uapi::kParamTypeDiscard) {
        const auto& d = p.discard;
        g.discard = d.max_discard_sectors != 0;
        g.discard_granularity_bytes = d.discard_granularity;
        g.max_discard_bytes = std::uint64_t(d.max_discard_sectors) << 9;
        g.write_zeroes = d.max_write_zeroes_sectors != 0;
        g.max_write_zeroes_bytes = std::uint64_t(d.max_write_zeroes_sectors) << 9;
    }
    return g;
}

Status check_geometry(int dev_id, const uapi::Params& params, const BlockGeometry& expected) {
    const std::string dev = "ublk device " + std::to_string(dev_id);
    if (!(params.types & uapi::kParamTypeBasic)) return make_error(EINVAL, dev + " has no basic parameters");
    const BlockGeometry have = geometry_from_params(params);
    auto differ = [&](const std::string& what, std::uint64_t dev_value, std::uint64_t backend_value) {
        return make_error(EINVAL, dev + " does not match its backend: " + what + " " + std::to_string(dev_value) +
                                      " on the device, " + std::to_string(backend_value) + " on the backend");
    };
    if (have.size_bytes != expected.size_bytes) return differ("size", have.size_bytes, expected.size_bytes);
    if (have.logical_block_size != expected.logical_block_size)
        return differ("logical block size", have.logical_block_size, expected.logical_block_size);
    if (have.max_io_bytes > expected.max_io_bytes) return differ("largest I/O", have.max_io_bytes, expected.max_io_bytes);
    if (have.discard && !expected.discard) return make_error(EINVAL, dev + " offers discard, its backend does not");
    if (have.write_zeroes && !expected.write_zeroes)
        return make_error(EINVAL, dev + " offers write-zeroes, its backend does not");
    if (!have.read_only && expected.read_only) return make_error(EINVAL, dev + " is writable, its backend is read-only");
    return {};
}

std::optional<int> parse_char_device_name(std::string_view name) {
    constexpr std::string_view prefix = "ublkc";
    if (name.substr(0, prefix.size()) != prefix || name.size() == prefix.size()) return std::nullopt;
    std::string_view digits = name.substr(prefix.size());
    if (digits.size() > 1 && digits[0] == '0') return std::nullopt;
    int id = 0;
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), id);
    if (ec != std::errc{} || end != digits.data() + digits.size() || id < 0) return std::nullopt;
    return id;
}

bool stat_line_says_running(std::string_view stat) {
    auto close = stat.rfind(')');
    if (close == std::string_view::npos || close + 2 >= stat.size() || stat[close + 1] != ' ') return false;
    char state = stat[close + 2];
    return state != 'Z' && state != 'X' && state != 'x';
}

bool process_alive(pid_t pid) {
    if (pid <= 0) return false;
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    if (!in) return false;
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    return stat_line_says_running(text);
}

bool other_server_alive(const uapi::DevInfo& info) {
    return info.ublksrv_pid != ::getpid() && process_alive(info.ublksrv_pid);
}

bool live_elsewhere(const uapi::DevInfo& info) { return info.state == uapi::kStateLive && other_server_alive(info); }

}  // namespace iser::ublk
