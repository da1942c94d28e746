// Fuzzes the iSCSI/TCP receive framing (initiator/datamover/tcp/pdu_receiver.cpp): the byte
// stream a target sends, cut into chunks at points chosen by the input, through both ways the
// datamover feeds it (copied from its read buffer, or received straight into a Data-In's task
// buffer). The first two bytes choose the data segment limit, the chunking and which Data-In
// placements are refused; the rest is the stream.
//
// Checks: every PDU delivered has the data segment its header announces, a Data-In's data lands
// in the buffer handed out for it, the bytes accounted for never exceed what was fed, and after
// a framing error nothing is delivered.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "initiator/datamover/tcp/pdu_receiver.hpp"

using namespace iser;

namespace {

class CheckingSink final : public datamover::PduReceiver::Sink {
public:
    explicit CheckingSink(bool refuse_odd_itt) : refuse_odd_itt_(refuse_odd_itt) {}

    MutableBytes data_in_placement(const pdu::Bhs& bhs) override {
        if (refuse_odd_itt_ && (bhs.itt() & 1)) return {};  // no task for this ITT
        placed_.assign(bhs.data_segment_length(), 0);
        return MutableBytes(placed_.data(), placed_.size());
    }
    bool deliver(const pdu::Bhs& bhs, Bytes data) override {
        if (failed_) std::abort();
        if (data.size() != bhs.data_segment_length()) std::abort();
        if (bhs.opcode() == pdu::Opcode::DataIn && !data.empty() && data.data() != placed_.data()) std::abort();
        ++delivered_;
        return delivered_ < 1000;  // as if the connection closed after many PDUs
    }
    void framing_error(Error why) override {
        if (failed_ || why.message.empty()) std::abort();
        failed_ = true;
    }
    bool failed() const { return failed_; }

private:
    bool refuse_odd_itt_;
    bool failed_ = false;
    int delivered_ = 0;
    std::vector<std::uint8_t> placed_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 2) return 0;
    const std::uint8_t mode = data[0];
    std::uint32_t chunk_seed = data[1] | 1u;
    const std::uint8_t* stream = data + 2;
    const std::size_t stream_size = size - 2;

    CheckingSink sink(mode & 1);
    datamover::PduReceiver receiver(sink);
    static constexpr std::uint32_t kLimits[] = {512, 8192, 65536, 262144};
    receiver.set_data_limit(kLimits[(mode >> 1) & 3]);
    const std::size_t direct_threshold = (mode & 8) ? 1 : 2048;  // the datamover's, or always direct
    const bool use_direct = mode & 16;

    std::size_t pos = 0;
    while (pos < stream_size) {
        // Chunk sizes from a small xorshift over the seed: 1..64 bytes, sometimes the rest.
        chunk_seed ^= chunk_seed << 13;
        chunk_seed ^= chunk_seed >> 17;
        chunk_seed ^= chunk_seed << 5;
        std::size_t chunk = (chunk_seed & 0x3f) + 1;
        if ((chunk_seed >> 8) % 8 == 0) chunk = stream_size - pos;
        chunk = std::min(chunk, stream_size - pos);

        if (use_direct) {
            MutableBytes direct = receiver.direct_space(direct_threshold);
            if (!direct.empty()) {
                const std::size_t n = std::min(chunk, direct.size());
                std::memcpy(direct.data(), stream + pos, n);
                pos += n;
                if (!receiver.direct_received(n)) break;
                continue;
            }
        }
        std::size_t end = pos + chunk;
        bool stopped = false;
        while (pos < end) {
            std::size_t used = 0;
            if (!receiver.consume(stream + pos, end - pos, used)) {
                stopped = true;
                break;
            }
            if (used > end - pos) std::abort();
            pos += used;
        }
        if (stopped) break;
    }
    return 0;
}
