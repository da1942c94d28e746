#include "daemon/metered_backend.hpp"

namespace iser::daemon {

MeteredBackend::MeteredBackend(BlockBackend& inner, std::size_t contexts) : inner_(inner), contexts_(contexts) {
    for (auto& c : contexts_) {
        c.parent = this;
        c.next_free = free_;
        free_ = &c;
    }
}

void MeteredBackend::submit(BlockRequest& request) {
    Context* c = free_;
    if (!c) {
        ++unmetered_;
        return inner_.submit(request);
    }
    free_ = c->next_free;
    c->owner = request.owner;
    c->started = std::chrono::steady_clock::now();
    request.owner = c;
    inner_.submit(request);
}

void MeteredBackend::Context::complete(BlockRequest& request, int result) {
    auto micros = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - started);
    MeteredBackend& m = *parent;
    m.stats_.record(request.op, request.length, std::uint64_t(micros.count()), result);
    BlockCompletion* o = owner;
    request.owner = o;
    next_free = m.free_;
    m.free_ = this;
    o->complete(request, result);
}

}  // namespace iser::daemon
