// libFuzzer target: lola's latent-cache reader (src/io/latent_cache.cpp, src/io/hdf5.cpp) on arbitrary bytes.
#include <cstddef>
#include <cstdint>

#include "fuzz_support.h"
#include "lola/core/error.h"
#include "lola/core/log.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    lola::set_log_level(lola::LogLevel::kError); // statistics warnings on odd data are expected, not findings
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string path = lola::fuzz::write_input(data, size, ".h5");
    try {
        lola::fuzz::exercise_latent_cache(path);
    } catch (const lola::Error&) {
        // a corrupt cache is an error with a message, never a crash
    }
    return 0;
}
