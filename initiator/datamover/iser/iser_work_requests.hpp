// The verbs work requests of one iSER datamover, allocated once when the connection's resources
// are: one send WR (+2 SGEs) per send slot and one receive WR per receive buffer, linked into
// chains so that one ibv_post_send / ibv_post_recv posts a whole batch. Private to the datamover.
#pragma once
#include <infiniband/verbs.h>

#include <array>
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
};

}  // namespace iser::datamover
