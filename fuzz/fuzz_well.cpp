// libFuzzer target: lola's Well reader (src/io/well.cpp, src/io/hdf5.cpp) on arbitrary bytes.
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
    const std::string path = lola::fuzz::write_input(data, size, ".hdf5");
    try {
        lola::fuzz::exercise_well_file(path);
    } catch (const lola::Error&) {
        // a corrupt file is an error with a message, never a crash
    }
    return 0;
}
