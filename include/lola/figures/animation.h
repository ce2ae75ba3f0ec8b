// Animations: a PNG sequence of panel grids, plus an MP4 when ffmpeg is available.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "lola/figures/panels.h"

namespace lola::figures {

/// What write_animation produced.
struct AnimationOutput {
    std::filesystem::path frame_dir;            ///< folder holding frame_0000.png, frame_0001.png, ...
    std::vector<std::filesystem::path> frames;  ///< the frames written, in order
    std::optional<std::filesystem::path> video; ///< the MP4, when ffmpeg ran and succeeded
    std::string note;                           ///< one line: what was written and why no video (if none)
};

/// Write `frames` as PNGs frame_0000.png ... (4 digits, more if needed) and, if an `ffmpeg` executable is on
/// PATH, encode them (H.264, yuv420p, `fps` frames per second) into an MP4.
/// `target` ending in ".mp4": the video is `target` and the frames go to "<target without .mp4>_frames/";
/// otherwise `target` is the frame folder and the video is "<target>/animation.mp4". The frame folder is created
/// (its parent must exist); stale frame_*.png files in it are removed first. Panel ranges are not shared between
/// frames automatically: set Panel::range for a steady colour scale (and a steady frame size; smaller frames are
/// padded with white at the right and bottom in the video). ffmpeg is run without a shell (posix_spawn)
/// and its output goes to a temporary name renamed on success; its failure is reported in `note`, not thrown.
/// Throws lola::Error for no frames, fps <= 0, or an unusable path.
AnimationOutput write_animation(const std::filesystem::path& target, const std::vector<PanelGrid>& frames, double fps);

} // namespace lola::figures
