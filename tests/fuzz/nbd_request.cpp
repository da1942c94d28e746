// Fuzzes the NBD server's handshake/option/request parser (nbd::ServerSession) with the input as
// the client's byte stream, delivered in chunks whose sizes come from the input itself so that
// messages are split at every possible boundary. Checks the parser's own invariants.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "nbd/session.hpp"

using namespace iser;
using namespace iser::nbd;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1) return 0;
    // The first byte picks the geometry variant and the chunking.
    const std::uint8_t control = data[0];
    Bytes stream(data + 1, size - 1);

    BlockGeometry g;
    g.size_bytes = 1 << 20;
    g.logical_block_size = (control & 1) ? 4096 : 512;
    g.max_io_bytes = 64 * 1024;
    g.read_only = control & 2;
    g.discard = control & 4;
    g.volatile_cache = true;
    ServerSession session(make_export_info(g, "lun0"));

    const std::size_t chunk = 1 + (control >> 3);  // 1..32 bytes fed at a time
    std::size_t fed = 0;     // bytes made available so far
    std::size_t pos = 0;     // bytes consumed
    while (session.phase() != ServerSession::Phase::Closed) {
        auto step = session.step(stream.subspan(pos, fed - pos));
        if (step.consumed > fed - pos) std::abort();
        pos += step.consumed;
        switch (step.kind) {
            case ServerSession::StepKind::NeedMore:
                if (step.consumed != 0) std::abort();
                if (fed == stream.size()) return 0;
                fed = std::min(stream.size(), fed + chunk);
                break;
            case ServerSession::StepKind::Request:
                if (step.error == 0 && step.request.type != kCmdFlush) {
                    // Whatever validation accepted must lie inside the export, aligned.
                    if (step.request.offset + step.request.length > g.size_bytes) std::abort();
                    if (step.request.offset % g.logical_block_size) std::abort();
                    if (step.request.type == kCmdWrite && g.read_only) std::abort();
                }
                break;
            case ServerSession::StepKind::Payload:
                if (step.payload.empty() || step.payload.data() != stream.data() + pos - step.consumed) std::abort();
                break;
            case ServerSession::StepKind::Handled:
            case ServerSession::StepKind::Closed:
                break;
        }
        session.output().clear();  // as if sent
    }
    return 0;
}
