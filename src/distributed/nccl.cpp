#include "backends.h"

#include "lola/core/error.h"

#ifdef LOLA_WITH_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

namespace lola::distributed {

#ifdef LOLA_WITH_NCCL

c10::intrusive_ptr<c10d::Backend> make_nccl_backend(const c10::intrusive_ptr<c10d::Store>& store, const World& world,
                                                    std::chrono::milliseconds timeout) {
    auto options = c10d::ProcessGroupNCCL::Options::create();
    options->timeout = timeout;
    return c10::make_intrusive<c10d::ProcessGroupNCCL>(store, world.rank, world.size, options);
}

#else

c10::intrusive_ptr<c10d::Backend> make_nccl_backend(const c10::intrusive_ptr<c10d::Store>& /*store*/,
                                                    const World& /*world*/, std::chrono::milliseconds /*timeout*/) {
    LOLA_THROW(
        "distributed: this lola was built without NCCL, so it cannot train on several GPUs (build against a "
        "CUDA LibTorch whose NCCL headers CMake finds: LOLA_NCCL in docs/distributed.md); --device cpu trains "
        "with Gloo");
}

#endif

} // namespace lola::distributed
