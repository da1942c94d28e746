// IoSlicePool: slices sized to the request inside one bounded region, waiters served in order
// when it is full, nothing lost or handed out twice.
#include <doctest/doctest.h>

#include <map>
#include <memory>
#include <random>
#include <set>
#include <vector>

#include "common/io_slice_pool.hpp"

using namespace iser;

namespace {
struct Region {
    std::vector<std::uint8_t> bytes;
    explicit Region(std::size_t n) : bytes(n) {}
    IoMemory memory() { return IoMemory{bytes.data(), bytes.size()}; }
};
struct Waiter final : IoSliceWaiter {
    std::uint8_t* got = nullptr;
    int grants = 0;
    void slice_granted(std::uint8_t* s) override {
        got = s;
        ++grants;
    }
};
}  // namespace

TEST_CASE("slices are sized to the request and lie inside the region") {
    Region r(64 * 4096);
    IoSlicePool pool(r.memory());
    Waiter w;
    std::uint8_t* a = pool.acquire(4096, w);
    std::uint8_t* b = pool.acquire(5000, w);  // two granules
    std::uint8_t* c = pool.acquire(512, w);
    REQUIRE(a);
    REQUIRE(b);
    REQUIRE(c);
    CHECK(pool.stats().in_use == 4 * 4096);
    for (auto* p : {a, b, c}) {
        CHECK(p >= r.bytes.data());
        CHECK(p < r.bytes.data() + r.bytes.size());
        CHECK((p - r.bytes.data()) % 4096 == 0);
    }
    CHECK(b >= a + 4096);
    CHECK(c >= b + 8192);
    pool.release(b, 5000);
    CHECK(pool.stats().in_use == 2 * 4096);
}

TEST_CASE("a full pool makes requests wait, and serves them in order as slices come back") {
    Region r(4 * 4096);
    IoSlicePool pool(r.memory());
    Waiter none;
    std::uint8_t* all = pool.acquire(4 * 4096, none);
    REQUIRE(all);
    Waiter big, small;
    CHECK(pool.acquire(3 * 4096, big) == nullptr);
    CHECK(pool.acquire(4096, small) == nullptr);  // would fit later, but waits behind `big`
    CHECK(pool.stats().waiting == 2);
    pool.release(all, 4 * 4096);
    CHECK(big.grants == 1);
    CHECK(small.grants == 1);
    CHECK(small.got != big.got);
    CHECK(pool.stats().waiting == 0);
    CHECK(pool.stats().in_use == 4 * 4096);
    CHECK(pool.stats().waits == 2);
}

TEST_CASE("a large waiter at the head is not overtaken by smaller requests") {
    Region r(4 * 4096);
    IoSlicePool pool(r.memory());
    Waiter n;
    std::uint8_t* a = pool.acquire(2 * 4096, n);
    std::uint8_t* b = pool.acquire(2 * 4096, n);
    Waiter big, later;
    CHECK(pool.acquire(4 * 4096, big) == nullptr);
    pool.release(a, 2 * 4096);  // half free: not enough for the head
    CHECK(big.grants == 0);
    CHECK(pool.acquire(4096, later) == nullptr);  // fits, but must not pass the head
    pool.release(b, 2 * 4096);
    CHECK(big.grants == 1);
    CHECK(later.grants == 0);
    pool.release(big.got, 4 * 4096);
    CHECK(later.grants == 1);
}

TEST_CASE("a cancelled waiter is never granted and does not block the ones behind it") {
    Region r(2 * 4096);
    IoSlicePool pool(r.memory());
    Waiter n;
    std::uint8_t* a = pool.acquire(4096, n);
    Waiter big, small;
    CHECK(pool.acquire(2 * 4096, big) == nullptr);
    CHECK(pool.acquire(4096, small) == nullptr);
    pool.cancel(big);  // the head goes: the small one fits in what is free now
    CHECK(small.grants == 1);
    pool.release(a, 4096);
    CHECK(big.grants == 0);
}

TEST_CASE("random traffic: never more than the region, never the same bytes twice, every waiter served") {
    Region r(256 * 4096);  // 1 MiB
    IoSlicePool pool(r.memory());
    std::mt19937 rng(7);
    struct Held {
        std::uint8_t* p;
        std::size_t bytes;
    };
    std::vector<Held> held;
    std::vector<std::unique_ptr<Waiter>> waiters;
    std::map<Waiter*, std::size_t> wanted;
    auto overlaps_held = [&](std::uint8_t* p, std::size_t bytes) {
        for (const auto& h : held)
            if (p < h.p + h.bytes && h.p < p + bytes) return true;
        return false;
    };
    for (int i = 0; i < 20000; ++i) {
        if (held.empty() || rng() % 2) {
            std::size_t bytes = std::size_t(1 + rng() % (256 * 1024));
            auto w = std::make_unique<Waiter>();
            std::uint8_t* p = pool.acquire(bytes, *w);
            if (p) {
                REQUIRE(!overlaps_held(p, bytes));
                held.push_back({p, bytes});
            } else {
                wanted[w.get()] = bytes;
                waiters.push_back(std::move(w));
            }
        } else {
            std::size_t k = rng() % held.size();
            Held h = held[k];
            held.erase(held.begin() + long(k));
            pool.release(h.p, h.bytes);
            for (auto it = wanted.begin(); it != wanted.end();) {
                if (it->first->grants) {
                    REQUIRE(it->first->grants == 1);
                    REQUIRE(!overlaps_held(it->first->got, it->second));
                    held.push_back({it->first->got, it->second});
                    it = wanted.erase(it);
                } else {
                    ++it;
                }
            }
        }
        REQUIRE(pool.stats().in_use <= pool.capacity());
    }
    while (!held.empty()) {
        Held h = held.back();
        held.pop_back();
        pool.release(h.p, h.bytes);
        for (auto it = wanted.begin(); it != wanted.end();) {
            if (it->first->grants) {
                held.push_back({it->first->got, it->second});
                it = wanted.erase(it);
            } else {
                ++it;
            }
        }
    }
    CHECK(wanted.empty());
    CHECK(pool.stats().in_use == 0);
    CHECK(pool.stats().peak <= pool.capacity());
}

namespace {
// Chunks of 16 granules made on demand, each in memory of its own (not next to the others).
struct Grower {
    std::vector<std::unique_ptr<Region>> chunks;
    int calls = 0;
    bool fail = false;
    IoSlicePool::Grow grow() {
        return [this](std::size_t bytes) -> Result<IoMemory> {
            ++calls;
            if (fail) return make_error(ENOMEM, "no memory");
            chunks.push_back(std::make_unique<Region>(bytes));
            return chunks.back()->memory();
        };
    }
    bool inside(std::size_t i, const std::uint8_t* p, std::size_t n) const {
        const auto& b = chunks[i]->bytes;
        return p >= b.data() && p + n <= b.data() + b.size();
    }
};
constexpr std::size_t kChunk = 16 * IoSlicePool::kGranule;
}  // namespace

TEST_CASE("a growing pool makes a chunk only when the ones there cannot serve, up to the cap") {
    Region first(kChunk);
    Grower g;
    IoSlicePool pool(4 * kChunk, first.memory(), g.grow());
    CHECK(pool.capacity() == 4 * kChunk);
    CHECK(pool.max_slice() == kChunk);
    Waiter w;
    std::vector<std::uint8_t*> held;
    for (int i = 0; i < 16; ++i) held.push_back(pool.acquire(4096, w));
    CHECK(g.calls == 0);  // the first chunk served all 16
    CHECK(pool.stats().committed == kChunk);
    for (int i = 0; i < 48; ++i) held.push_back(pool.acquire(4096, w));
    CHECK(g.calls == 3);  // three more chunks: the cap
    CHECK(pool.stats().committed == 4 * kChunk);
    for (auto* p : held) CHECK(p != nullptr);
    CHECK(std::set<std::uint8_t*>(held.begin(), held.end()).size() == 64u);
    Waiter late;
    CHECK(pool.acquire(4096, late) == nullptr);  // full at the cap: it waits, no fifth chunk
    CHECK(g.calls == 3);
    pool.release(held[20], 4096);
    CHECK(late.got == held[20]);
}

TEST_CASE("a growing pool never hands out a slice across two chunks") {
    Region first(kChunk);
    Grower g;
    IoSlicePool pool(2 * kChunk, first.memory(), g.grow());
    Waiter w;
    std::uint8_t* a = pool.acquire(12 * 4096, w);  // 4 granules left in the first chunk
    std::uint8_t* b = pool.acquire(8 * 4096, w);   // does not fit there: a new chunk
    REQUIRE(a);
    REQUIRE(b);
    CHECK(a >= first.bytes.data());
    CHECK(a + 12 * 4096 <= first.bytes.data() + first.bytes.size());
    REQUIRE(g.chunks.size() == 1u);
    CHECK(g.inside(0, b, 8 * 4096));
    std::uint8_t* c = pool.acquire(4 * 4096, w);  // the first chunk's tail, or after b (next fit)
    REQUIRE(c);
    CHECK((c == a + 12 * 4096 || (g.inside(0, c, 4 * 4096) && c >= b + 8 * 4096)));
}

TEST_CASE("a pool that cannot grow serves from the chunks it has, and stops asking") {
    Region first(kChunk);
    Grower g;
    g.fail = true;
    IoSlicePool pool(4 * kChunk, first.memory(), g.grow());
    Waiter w;
    std::uint8_t* a = pool.acquire(kChunk, w);
    REQUIRE(a);
    Waiter x, y;
    CHECK(pool.acquire(4096, x) == nullptr);
    CHECK(pool.stats().grow_failures == 1u);
    CHECK(pool.acquire(4096, y) == nullptr);  // waits behind x; no second attempt
    CHECK(g.calls == 1);
    pool.release(a, kChunk);
    CHECK(x.got != nullptr);
    CHECK(y.got != nullptr);
}
