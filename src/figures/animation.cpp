#include "lola/figures/animation.h"

#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <regex>

#include "lola/core/error.h"
#include "lola/core/fs.h"

extern char** environ;

namespace lola::figures {

namespace fs = std::filesystem;

namespace {

// The first executable `name` in $PATH, or empty.
fs::path find_on_path(const std::string& name) {
    const char* env = std::getenv("PATH");
    if (env == nullptr) return {};
    std::string paths = env;
    size_t start = 0;
    while (start <= paths.size()) {
        size_t end = paths.find(':', start);
        if (end == std::string::npos) end = paths.size();
        std::string dir = paths.substr(start, end - start);
        fs::path candidate = fs::path(dir.empty() ? "." : dir) / name;
        std::error_code ec;
        if (fs::is_regular_file(candidate, ec) && ::access(candidate.c_str(), X_OK) == 0) return candidate;
        start = end + 1;
    }
    return {};
}

// Run argv[0] with argv (no shell, so no quoting issues), stdout/stderr inherited. Returns the exit status or -1.
int run_program(const std::vector<std::string>& args) {
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    pid_t pid = 0;
    if (::posix_spawn(&pid, argv[0], nullptr, nullptr, argv.data(), environ) != 0) return -1;
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) return -1;
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

} // namespace

AnimationOutput write_animation(const fs::path& target, const std::vector<PanelGrid>& frames, double fps) {
    LOLA_CHECK(!frames.empty(), "animation '{}': no frames to write", target.string());
    LOLA_CHECK(std::isfinite(fps) && fps > 0, "animation '{}': fps = {} must be positive", target.string(), fps);
    LOLA_CHECK(!target.empty(), "animation: empty output path");

    AnimationOutput out;
    fs::path video;
    std::string ext = target.extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
    if (ext == ".mp4") {
        out.frame_dir = target.parent_path() / (target.stem().string() + "_frames");
        video = target;
    } else {
        out.frame_dir = target;
        video = target / "animation.mp4";
    }
    fs::path parent = out.frame_dir.parent_path();
    LOLA_CHECK(parent.empty() || fs::is_directory(parent),
               "animation '{}': folder '{}' does not exist (create it first)", target.string(), parent.string());
    std::error_code ec;
    fs::create_directory(out.frame_dir, ec);
    LOLA_CHECK(fs::is_directory(out.frame_dir), "animation '{}': cannot create folder '{}'{}", target.string(),
               out.frame_dir.string(), ec ? ": " + ec.message() : "");

    // Stale frames from an earlier, longer animation would be picked up by ffmpeg.
    static const std::regex frame_name(R"(frame_[0-9]+\.png)");
    for (const auto& entry : fs::directory_iterator(out.frame_dir)) {
        if (entry.is_regular_file() && std::regex_match(entry.path().filename().string(), frame_name)) {
            fs::remove(entry.path());
        }
    }

    const int digits = std::max<int>(4, static_cast<int>(std::to_string(frames.size() - 1).size()));
    int max_w = 0, max_h = 0;
    for (size_t k = 0; k < frames.size(); ++k) {
        fs::path frame = out.frame_dir / fmt::format("frame_{:0{}d}.png", k, digits);
        PanelsLayout layout = write_panels(frame, frames[k]);
        max_w = std::max(max_w, layout.width);
        max_h = std::max(max_h, layout.height);
        out.frames.push_back(frame);
    }
    out.note = fmt::format("wrote {} frames to '{}'", frames.size(), out.frame_dir.string());

    fs::path ffmpeg = find_on_path("ffmpeg");
    if (ffmpeg.empty()) {
        out.note += "; no MP4: ffmpeg is not on PATH";
        return out;
    }
    fs::path tmp = core::temp_path_for(video);
    std::vector<std::string> args{ffmpeg.string(), "-nostdin", "-y", "-loglevel", "error", "-framerate",
                                  fmt::format("{}", fps), "-i",
                                  (out.frame_dir / fmt::format("frame_%0{}d.png", digits)).string(),
                                  // One even size for all frames (H.264 in yuv420p needs even sizes; frames
                                  // whose labels differ in width may differ in size): pad at the right/bottom.
                                  "-vf", fmt::format("pad={}:{}:0:0:color=white", max_w + max_w % 2, max_h + max_h % 2),
                                  "-c:v", "libx264", "-pix_fmt", "yuv420p", "-f", "mp4", tmp.string()};
    int rc = run_program(args);
    if (rc == 0 && fs::is_regular_file(tmp)) {
        fs::rename(tmp, video, ec);
        if (!ec) {
            out.video = video;
            out.note += fmt::format(" and the video '{}'", video.string());
            return out;
        }
    }
    fs::remove(tmp, ec);
    out.note += fmt::format("; no MP4: '{}' failed (exit status {})", ffmpeg.string(), rc);
    return out;
}

} // namespace lola::figures
