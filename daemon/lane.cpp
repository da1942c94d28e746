#include "daemon/lane.hpp"

#include <pthread.h>
#include <sched.h>

#include <cstring>

#include "daemon/sched_slice.hpp"

namespace iser::daemon {
namespace {

constexpr auto kDrainPoll = std::chrono::milliseconds(10);

// Waits for one block request submitted on the loop thread.
class RequestWaiter final : public BlockCompletion {
public:
    explicit RequestWaiter(std::function<void(int)> done) : done_(std::move(done)) {}
    void complete(BlockRequest&, int result) override { done_(result); }
    BlockRequest request;

private:
    std::function<void(int)> done_;
};

}  // namespace

Result<std::unique_ptr<Lane>> Lane::create(Logger& log, std::string name, session::SessionConfig config,
                                           session::DatamoverFactory factory) {
    std::unique_ptr<Lane> lane(new Lane(log, std::move(name)));
    auto thread = LoopThread::start();
    if (!thread) return thread.take_error();
    lane->thread_ = std::move(*thread);
    lane->request_short_slice();
    lane->session_ = std::make_unique<session::Session>(lane->thread_->loop(), log, std::move(config), std::move(factory));
    return lane;
}

// On request (ISER_QUEUE_SLICE_US), a short scheduler slice lets the thread preempt the task it
// wakes next to (see sched_slice.hpp). Failing costs only that, and is logged.
void Lane::request_short_slice() {
    auto slice = queue_slice_from_env();
    if (!slice)
        ISER_LOG_WARN(log_, "%s; using %lld us", slice.error().message.c_str(), static_cast<long long>(kDefaultQueueSlice.count()));
    const std::chrono::microseconds want = slice ? *slice : kDefaultQueueSlice;
    if (want.count() == 0) return;
    Status st = thread_->call<Status>([want](auto done) { done(request_scheduler_slice(want)); });
    if (!st) ISER_LOG_WARN(log_, "%s: queue thread keeps the default scheduler slice: %s", name_.c_str(), st.error().message.c_str());
}

Lane::~Lane() {
    // Everything below was built on the loop thread and must not run concurrently with it.
    thread_->stop();
    ublk_queues_.clear();
    nbd_servers_.clear();
    metered_.clear();
    backends_.clear();
    session_.reset();
}

Status Lane::login(const std::atomic<bool>* cancel) {
    return thread_->call<Status>([this](auto done) { session_->start(std::move(done)); }, cancel,
                                 [this] { session_->cancel_start(make_error(ECANCELED, "login cancelled: iserd is stopping")); });
}

Result<lun::ProbeResult> Lane::probe(std::optional<std::uint32_t> only_lun) {
    return thread_->call<Result<lun::ProbeResult>>([this, only_lun](auto done) {
        lun::probe_luns(thread_->loop(), log_, *session_, only_lun, std::move(done));
    });
}

Status Lane::add_backend(const lun::LunInfo& info, const std::string& name, std::uint32_t depth) {
    return thread_->call<Status>([&](auto done) {
        auto backend = lun::LunBackend::create(thread_->loop(), log_, *session_, info, name, depth);
        if (!backend) return done(backend.take_error());
        // The target reports a changed LUN through UNIT ATTENTION: this lane's backend has the
        // new size already; the owner makes the other lanes agree and resizes the device, off
        // this loop (netlink and ublk control commands block).
        const std::size_t index = backends_.size();
        (*backend)->on_capacity_change([this, index](const BlockGeometry& g) {
            ISER_LOG_INFO(log_, "%s (%s): the LUN now has %llu bytes", g.name.c_str(), name_.c_str(),
                          (unsigned long long)g.size_bytes);
            capacity_changed(index);
            if (capacity_listener_) capacity_listener_(index, g);
        });
        (*backend)->on_luns_changed([this, name] {
            ISER_LOG_WARN(log_, "%s (%s): the target reports its LUN inventory changed; log in again to attach new LUNs",
                          name.c_str(), name_.c_str());
        });
        backends_.push_back(std::move(*backend));
        metered_.push_back(std::make_unique<MeteredBackend>(*backends_.back(), 2 * std::size_t(depth)));
        nbd_servers_.emplace_back();
        ublk_queues_.emplace_back();
        done(Status{});
    });
}

void Lane::capacity_changed(std::size_t index) {
    if (index < nbd_servers_.size() && nbd_servers_[index])
        nbd_servers_[index]->set_export_size(backends_[index]->geometry().size_bytes);
}

Result<Lane::CapacityRead> Lane::refresh_capacity(std::size_t index) {
    return thread_->call<Result<CapacityRead>>([this, index](auto done) {
        if (index >= backends_.size()) return done(make_error(ENOENT, "no LUN backend " + std::to_string(index)));
        if (session_->state() != session::Session::State::FullFeature)
            return done(make_error(ENOTCONN, name_ + ": the session is not logged in (reconnecting?)"));
        backends_[index]->refresh_capacity([this, index, done](Result<BlockGeometry> g) {
            if (!g) return done(g.take_error());
            capacity_changed(index);
            done(CapacityRead{backends_[index]->info().capacity, *g});
        });
    });
}

void Lane::apply_capacity(std::size_t index, const scsi::ReadCapacity16& capacity) {
    thread_->call<bool>([this, index, &capacity](auto done) {
        if (index < backends_.size() && backends_[index]->apply_capacity(capacity)) capacity_changed(index);
        done(true);
    });
}

Result<NbdServer*> Lane::add_nbd_server(std::size_t index, const NbdServerConfig& config) {
    return thread_->call<Result<NbdServer*>>([&](auto done) {
        auto server = NbdServer::create(thread_->loop(), *metered_[index], log_, config);
        if (!server) return done(server.take_error());
        nbd_servers_[index] = std::move(*server);
        done(nbd_servers_[index].get());
    });
}

Status Lane::add_ublk_queue(std::size_t index, ublk::Device& device, std::uint16_t queue_id) {
    return thread_->call<Status>([&](auto done) {
        auto q = ublk::Queue::create(device, queue_id, thread_->loop(), *metered_[index], log_);
        if (!q) return done(q.take_error());
        ublk_queues_[index] = std::move(*q);
        done(Status{});
    });
}

Status Lane::pin_to_cpus(const std::vector<int>& cpus) {
    cpu_set_t set;
    CPU_ZERO(&set);
    for (int c : cpus)
        if (c >= 0 && c < CPU_SETSIZE) CPU_SET(c, &set);
    return thread_->call<Status>([&set](auto done) {
        int rc = pthread_setaffinity_np(pthread_self(), sizeof set, &set);
        if (rc != 0) return done(make_error(rc, std::string("pthread_setaffinity_np: ") + std::strerror(rc)));
        done(Status{});
    });
}

void Lane::close_ublk_queues() {
    for (auto& q : ublk_queues_) {
        if (!q) continue;
        thread_->call<bool>([&q](auto done) { q->shutdown([done] { done(true); }); });
        // Destroyed on its loop thread once closed, and not from inside its own callback.
        thread_->call<bool>([&q](auto done) {
            q.reset();
            done(true);
        });
    }
}

std::uint32_t Lane::drain(std::chrono::milliseconds limit) {
    return thread_->call<std::uint32_t>([this, limit](auto done) {
        for (auto& s : nbd_servers_)
            if (s) s->close();
        auto deadline = std::chrono::steady_clock::now() + limit;
        auto step = std::make_shared<std::function<void()>>();
        *step = [this, deadline, step, done]() {
            std::uint32_t busy = 0;
            for (auto& b : backends_) busy += b->in_flight();
            if (busy && std::chrono::steady_clock::now() < deadline) {
                thread_->loop().add_timer(kDrainPoll, [step] { (*step)(); });
                return;
            }
            // Break the self-reference once this step has run (not from inside it).
            thread_->loop().defer([step] { *step = nullptr; });
            done(busy);
        };
        (*step)();
    });
}

int Lane::flush(std::size_t index) {
    auto waiter = std::make_shared<std::unique_ptr<RequestWaiter>>();
    return thread_->call<int>([this, index, waiter](auto done) {
        if (session_->state() != session::Session::State::FullFeature) return done(ENOTCONN);
        *waiter = std::make_unique<RequestWaiter>([this, waiter, done](int r) {
            // The waiter owns this very callback: free it after it returns.
            thread_->loop().defer([waiter] { waiter->reset(); });
            done(r);
        });
        (*waiter)->request.op = BlockOp::Flush;
        (*waiter)->request.owner = waiter->get();
        backends_[index]->submit((*waiter)->request);
    });
}

Status Lane::logout() {
    if (logged_out_) return {};
    logged_out_ = true;
    return thread_->call<Status>([this](auto done) {
        session_->logout([this, done](Status st) {
            // Servers and backends hold the session: free them first, after this callback.
            thread_->loop().defer([this, done, st]() mutable {
                nbd_servers_.clear();
                ublk_queues_.clear();
                metered_.clear();
                backends_.clear();
                done(std::move(st));
            });
        });
    });
}

IoStats Lane::io_stats(std::size_t index) {
    return thread_->call<IoStats>([this, index](auto done) {
        done(index < metered_.size() && metered_[index] ? metered_[index]->stats() : IoStats{});
    });
}

session::SessionStats Lane::session_stats() {
    return thread_->call<session::SessionStats>([this](auto done) { done(session_->stats()); });
}

control::IoMemoryUse Lane::io_memory() {
    return thread_->call<control::IoMemoryUse>([this](auto done) {
        control::IoMemoryUse use;
        use.limit_bytes = session_->config().io_memory_bytes;
        if (const IoSlicePool* pool = session_->io_pool_if_made()) {
            use.in_use_bytes = pool->stats().in_use;
            use.committed_bytes = pool->stats().committed;
        }
        done(use);
    });
}

login::SessionParams Lane::negotiated_params() {
    return thread_->call<login::SessionParams>([this](auto done) { done(session_->params()); });
}

session::Session::State Lane::state() {
    return thread_->call<session::Session::State>([this](auto done) { done(session_->state()); });
}

}  // namespace iser::daemon
