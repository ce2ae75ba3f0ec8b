// libFuzzer target: lola's config composer (src/core/config.cpp) on arbitrary YAML text (fuzz_support.h,
// exercise_config).
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "fuzz_support.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    // Presets resolve against the repository's configs/ (a group name such as dataset=euler_small loads a file).
    setenv("LOLA_CONFIG_PATH", LOLA_FUZZ_CONFIG_PATH, 1);
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    lola::fuzz::exercise_config(lola::fuzz::write_input(data, size, ".yaml"));
    return 0;
}
