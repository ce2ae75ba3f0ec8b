#include "backends.h"

#include "lola/core/error.h"

#ifdef LOLA_WITH_GLOO
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>

#include <cstdlib>
#endif

namespace lola::distributed {

#ifdef LOLA_WITH_GLOO

namespace {

bool is_loopback(const std::string& host) { return host == "localhost" || host.rfind("127.", 0) == 0; }

} // namespace

c10::intrusive_ptr<c10d::Backend> make_gloo_backend(const c10::intrusive_ptr<c10d::Store>& store, const World& world,
                                                    std::chrono::milliseconds timeout) {
    auto options = c10d::ProcessGroupGloo::Options::create(timeout);
    const char* ifname = std::getenv("GLOO_SOCKET_IFNAME"); // NOLINT(concurrency-mt-unsafe): read before threads
    if (ifname != nullptr && *ifname != '\0') {
        const std::string names(ifname); // torch's convention: a comma-separated list; lola uses the first
        options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(names.substr(0, names.find(','))));
    } else if (is_loopback(world.master_addr)) {
        options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
    } else {
        options->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
    }
    return c10::make_intrusive<c10d::ProcessGroupGloo>(store, world.rank, world.size, options);
}

#else

c10::intrusive_ptr<c10d::Backend> make_gloo_backend(const c10::intrusive_ptr<c10d::Store>& /*store*/,
                                                    const World& /*world*/, std::chrono::milliseconds /*timeout*/) {
    LOLA_THROW(
        "distributed: this lola was built without Gloo's headers, so it cannot train on several CPU processes "
        "(Debian: apt-get install libgloo-dev, then run scripts/setup again)");
}

#endif

} // namespace lola::distributed
