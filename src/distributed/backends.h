// The c10d backends behind distributed::Group, each in its own file so that only it includes its library's headers
// (Gloo's from Debian's libgloo-dev; NCCL's and CUDA's from the CUDA build of LibTorch).
#pragma once

#include <torch/csrc/distributed/c10d/Backend.hpp>
#include <torch/csrc/distributed/c10d/Store.hpp>

#include <chrono>

#include "lola/distributed/world.h"

namespace lola::distributed {

/// Gloo over TCP: on the loopback interface when the master address is local, on GLOO_SOCKET_IFNAME's interface when
/// set, else on the address this host's name resolves to. lola::Error in a build without Gloo's headers.
c10::intrusive_ptr<c10d::Backend> make_gloo_backend(const c10::intrusive_ptr<c10d::Store>& store, const World& world,
                                                    std::chrono::milliseconds timeout);

/// NCCL on CUDA device `world.local_rank`. lola::Error in a build without NCCL.
c10::intrusive_ptr<c10d::Backend> make_nccl_backend(const c10::intrusive_ptr<c10d::Store>& store, const World& world,
                                                    std::chrono::milliseconds timeout);

} // namespace lola::distributed
