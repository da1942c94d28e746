#include "initiator/datamover/io_memory_pool.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <string>

namespace iser::datamover {

IoMemoryPool::~IoMemoryPool() {
    for (const IoMemory& m : regions_) munmap(m.base, m.size);
}

Result<IoMemory> IoMemoryPool::allocate(std::size_t bytes) {
    const std::size_t page = std::size_t(sysconf(_SC_PAGESIZE));
    bytes = (std::max<std::size_t>(bytes, 1) + page - 1) / page * page;
    void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return make_error(ENOMEM, "cannot allocate " + std::to_string(bytes) + " bytes of I/O memory");
    IoMemory mem{static_cast<std::uint8_t*>(p), bytes};
    regions_.push_back(mem);
    return mem;
}

}  // namespace iser::datamover
