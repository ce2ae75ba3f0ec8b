// Reading and writing PyTorch state dicts as `torch.save(module.state_dict())` saves them (docs/reference.md): a zip
// archive whose `data.pkl` is a pickle of an OrderedDict name -> tensor and whose `data/<k>` records hold the
// storages. The pickle is read by a small interpreter of the opcodes torch.save emits (protocols 2 to 4), so the
// storages' location tags (`cuda:0` of a GPU run) never touch a device: every tensor is read onto the CPU.
#pragma once

#include <torch/types.h>

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

namespace lola::interop {

/// Name -> tensor, in the file's order. Tensors are contiguous, on the CPU, with the dtype of their storage.
using StateDict = std::vector<std::pair<std::string, torch::Tensor>>;

/// Read a torch.save'd state dict. Errors (lola::Error) name the file and what is wrong: not a zip archive or
/// truncated, a missing storage record, an unsupported pickle construct, a tensor whose view runs past its storage.
StateDict read_state_dict(const std::filesystem::path& path);

/// Write `state` as torch.save writes a state dict: the same archive records (data.pkl, .format_version,
/// .storage_alignment, byteorder, data/<k>) through LibTorch's PyTorchStreamWriter, and a pickle of an OrderedDict of
/// tensors rebuilt by torch._utils._rebuild_tensor_v2 from CPU storages, which `torch.load(path, weights_only=True)`
/// accepts. Written under a temporary name and renamed.
void write_state_dict(const StateDict& state, const std::filesystem::path& path);

} // namespace lola::interop
