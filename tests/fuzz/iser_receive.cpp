// Fuzz the iSER receive parser: any bytes a target can put in one RDMA Send.
#include <cstddef>
#include <cstdint>

#include "initiator/datamover/iser/iser_wire.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace iser::datamover;
    for (std::uint32_t limit : {8192u, 262144u}) {
        auto r = parse_receive(iser::Bytes(data, size), limit);
        if (!r) continue;
        // Whatever parsed must lie inside the message and within the limit.
        if (r->data.size() > limit) __builtin_trap();
        if (!r->data.empty() && (r->data.data() < data + 76 || r->data.data() + r->data.size() > data + size))
            __builtin_trap();
        if (r->bhs.data_segment_length() != r->data.size()) __builtin_trap();
    }
    return 0;
}
