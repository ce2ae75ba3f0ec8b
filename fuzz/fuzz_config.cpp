// libFuzzer target: lola's config composer (src/core/config.cpp) on arbitrary YAML text. The input is merged as a
// --config file, then each of its lines that looks like key=value is applied as an override, then typed values are
// read back as the commands do.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <sstream>
#include <string>

#include "fuzz_support.h"
#include "lola/core/config.h"
#include "lola/core/error.h"

namespace {

// A schema shaped like the built-in defaults: scalars, lists, nested groups with presets in configs/, an open map
// and a null value.
const char* kDefaults = R"(
dataset:
  name: ""
  root: data
  physics: []
  fields: []
  transform: []
  stats:
    mean: []
    std: []
  spatial_dims: 0
  label_dim: 0
optim:
  optimizer: adamw
  betas: [0.9, 0.99]
  learning_rate: 1.0e-4
  weight_decay: 0.0
  eps: 1.0e-8
  scheduler: cosine
train:
  epochs: 10
  batch_size: 8
  extra: {}
  note: null
)";

void read_back(const lola::core::Config& cfg) {
    (void)cfg.get<std::string>("dataset.name");
    (void)cfg.get<std::vector<std::string>>("dataset.fields");
    (void)cfg.get<std::vector<double>>("dataset.stats.mean");
    (void)cfg.get<int64_t>("dataset.spatial_dims");
    (void)cfg.get<double>("optim.learning_rate");
    (void)cfg.get<std::vector<double>>("optim.betas");
    (void)cfg.get<int64_t>("train.epochs");
    (void)cfg.get_or<std::string>("train.note", "none");
    (void)cfg.has("train.extra.anything");
    (void)cfg.dump();
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    // Presets resolve against the repository's configs/ (a group name such as dataset=euler_small loads a file).
    setenv("LOLA_CONFIG_DIR", LOLA_FUZZ_CONFIG_DIR, 1);
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static const YAML::Node defaults = YAML::Load(kDefaults);
    const std::string path = lola::fuzz::write_input(data, size, ".yaml");
    lola::core::Config cfg(defaults);
    try {
        cfg.merge_file(path);
    } catch (const lola::Error&) {
        // an invalid config is a usage error with a message
    }
    std::istringstream lines(std::string(reinterpret_cast<const char*>(data), size));
    for (std::string line; std::getline(lines, line);) {
        if (line.find('=') == std::string::npos) {
            continue;
        }
        try {
            cfg.apply_override(line);
        } catch (const lola::Error&) {
        }
    }
    try {
        read_back(cfg);
    } catch (const lola::Error&) {
    }
    return 0;
}
