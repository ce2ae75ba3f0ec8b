// Layout of a `.lola` model file (format version 1), all through lola::io::h5:
//   /                 attributes lola_format = "model", version = 1, lola_version, card (text)
//   /emulator         attribute config (YAML text); one float32 dataset per parameter and buffer, named by its
//                     module path (e.g. "backbone.blocks.0.qkv.weight"), with its shape
//   /autoencoder      the same for the autoencoder (latent models only)
#include "model_file.h"

#include <torch/types.h>

#include <set>

#include "lola/core/error.h"
#include "lola/core/fs.h"
#include "lola/io/hdf5.h"
#include "lola/runtime/emulator.h"
#include "lola/version.h"

namespace lola::runtime::detail {

namespace fs = std::filesystem;

namespace {

constexpr const char* kFormat = "model";

/// Every parameter and buffer of `module` with its full name.
std::vector<std::pair<std::string, torch::Tensor>> named_tensors(torch::nn::Module& module) {
    std::vector<std::pair<std::string, torch::Tensor>> out;
    for (const auto& kv : module.named_parameters()) {
        out.emplace_back(kv.key(), kv.value());
    }
    for (const auto& kv : module.named_buffers()) {
        out.emplace_back(kv.key(), kv.value());
    }
    return out;
}

void write_group(io::h5::Group& group, const std::string& config, torch::nn::Module& module) {
    group.write_attr("config", config);
    for (const auto& [name, tensor] : named_tensors(module)) {
        LOLA_CHECK(tensor.is_floating_point(),
                   "cannot export '{}': tensor '{}' is {}, only floating-point tensors are "
                   "stored",
                   group.file(), name, c10::toString(tensor.scalar_type()));
        const torch::Tensor t = tensor.detach().to(torch::kCPU, torch::kFloat32).contiguous();
        if (t.dim() == 0) {
            group.create_scalar(name, t.item<float>());
            continue;
        }
        const std::vector<uint64_t> shape(t.sizes().begin(), t.sizes().end());
        io::h5::Dataset ds = group.create_float_dataset(name, shape);
        if (t.numel() > 0) {
            ds.write_floats(std::vector<uint64_t>(shape.size(), 0), shape, t.data_ptr<float>());
        }
    }
}

} // namespace

void write_model_file(const fs::path& path, const ModelFileHeader& header, torch::nn::Module& emulator,
                      torch::nn::Module* autoencoder) {
    const fs::path temp = core::temp_path_for(path);
    try {
        io::h5::File f = io::h5::File::create(temp.string());
        f.write_attr("lola_format", kFormat);
        f.write_attr("version", kModelFormatVersion);
        f.write_attr("lola_version", LOLA_VERSION_STRING);
        f.write_attr("card", header.card);
        io::h5::Group em = f.create_group("emulator");
        write_group(em, header.emulator_config, emulator);
        if (autoencoder != nullptr) {
            io::h5::Group ae = f.create_group("autoencoder");
            write_group(ae, header.autoencoder_config, *autoencoder);
        }
        f.close();
    } catch (const std::exception& e) {
        std::error_code ec;
        fs::remove(temp, ec);
        core::rethrow_write_error(path, e);
    }
    std::error_code ec;
    fs::rename(temp, path, ec);
    if (ec) {
        fs::remove(temp, ec);
        LOLA_THROW("cannot rename a temporary file onto '{}': {}", path.string(), ec.message());
    }
}

ModelFileHeader read_model_header(const fs::path& path) {
    const io::h5::File f = io::h5::File::open(path.string());
    LOLA_CHECK(f.has_attr("lola_format") && f.read_attr_string("lola_format") == kFormat,
               "'{}' is not a lola model "
               "file (no root attribute lola_format='{}'; model files are written by 'lola export')",
               path.string(), kFormat);
    ModelFileHeader h;
    h.version = f.read_attr_int("version");
    LOLA_CHECK(h.version >= 1 && h.version <= kModelFormatVersion,
               "'{}' is a lola model file of format version {}, "
               "this lola reads format version {}: export it again with this lola's 'lola export' (from its run "
               "folder), or use the lola that wrote it",
               path.string(), h.version, kModelFormatVersion);
    LOLA_CHECK(f.has("emulator") && f.is_group("emulator"),
               "'{}' has no /emulator group (truncated or not a lola "
               "model file?)",
               path.string());
    h.emulator_config = f.group("emulator").read_attr_string("config");
    if (f.has("autoencoder")) {
        h.autoencoder_config = f.group("autoencoder").read_attr_string("config");
    }
    if (f.has_attr("card")) {
        h.card = f.read_attr_string("card");
    }
    return h;
}

void read_model_weights(const fs::path& path, const std::string& group_name, torch::nn::Module& module) {
    const io::h5::File f = io::h5::File::open(path.string());
    LOLA_CHECK(f.has(group_name) && f.is_group(group_name), "'{}' has no /{} group", path.string(), group_name);
    const io::h5::Group group = f.group(group_name);
    const std::vector<std::string> stored = group.children();
    std::set<std::string> unused(stored.begin(), stored.end());
    torch::NoGradGuard no_grad;
    for (auto& [name, tensor] : named_tensors(module)) {
        LOLA_CHECK(unused.erase(name) == 1,
                   "'{}': /{} lacks tensor '{}' of the model its configuration builds (a file "
                   "of another model version?)",
                   path.string(), group_name, name);
        const io::h5::Dataset ds = group.dataset(name);
        const std::vector<uint64_t> shape = ds.shape();
        const std::vector<uint64_t> want(tensor.sizes().begin(), tensor.sizes().end());
        LOLA_CHECK(shape == want, "'{}': /{}/{} has shape [{}] but the model expects [{}]", path.string(), group_name,
                   name, fmt::join(shape, ", "), fmt::join(want, ", "));
        torch::Tensor buf = torch::empty(tensor.sizes(), torch::kFloat32);
        if (buf.numel() > 0) {
            ds.read_floats(std::vector<uint64_t>(shape.size(), 0), shape, std::vector<uint64_t>(shape.size(), 1),
                           buf.data_ptr<float>());
        }
        tensor.copy_(buf);
    }
    LOLA_CHECK(unused.empty(), "'{}': /{} holds tensors the model does not have: {}", path.string(), group_name,
               fmt::join(unused, ", "));
}

} // namespace lola::runtime::detail
