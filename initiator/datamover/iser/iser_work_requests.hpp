// The verbs work requests of one iSER datamover, allocated once when the connection's resources
// are: one send WR (+2 SGEs) per send slot and one receive WR per receive buffer, linked into
// chains so that one ibv_post_send / ibv_post_recv posts a whole batch. Private to the datamover.
#pragma once
#include <infiniband/verbs.h>

#include <array>
#include <memory>
#include <vector>

#include "initiator/datamover/iser/iser_datamover.hpp"

namespace iser::datamover {

struct IserDatamover::WorkRequests {
    std::vector<ibv_send_wr> send;
    std::vector<std::array<ibv_sge, 2>> send_sge;
    std::vector<ibv_recv_wr> recv;
    std::vector<ibv_sge> recv_sge;
    ibv_recv_wr* recv_first = nullptr;  // the receives waiting for the next ibv_post_recv
    ibv_recv_wr* recv_last = nullptr;
    std::uint32_t recv_queued = 0;
    std::vector<std::uint32_t> send_marks;  // per send slot: ExtraWrBudget::mark() when queued
    std::vector<std::unique_ptr<Window>> windows;  // by ITT slot, allocated when first used
};

struct IserDatamover::Window {
    enum class State : std::uint8_t {
        Free,      // no valid key (never bound, invalidated, or the invalidate is queued)
        Prepared,  // bind filled in, its command waiting for a send slot
        Bound,     // bind chained or posted: the target holds `rkey`
    };
    ibv_mw* mw = nullptr;
    std::uint32_t rkey = 0;  // the current key (a new one per bind: ibv_inc_rkey)
    std::uint32_t itt = 0;   // the command that holds it
    State state = State::Free;
    ibv_send_wr bind{};
    ibv_send_wr invalidate{};
};

}  // namespace iser::datamover
