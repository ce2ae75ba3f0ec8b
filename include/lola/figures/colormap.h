// Colormaps for figures: a perceptually uniform sequential map and a symmetric blue-white-red diverging map.
#pragma once

#include <string>
#include <vector>

namespace lola::figures {

/// An sRGB colour, each channel in [0, 1].
struct Rgb {
    double r = 0, g = 0, b = 0;
};

/// Which colormap a panel uses. Sequential for fields, diverging for signed errors (its range is made symmetric).
enum class ColormapKind { sequential, diverging };

/// A colormap: sRGB entries sampled along a curve in CIELAB (256 for the sequential map, 257 for the diverging one
/// so that its white centre is an exact entry), linearly interpolated between entries.
class Colormap {
public:
    /// Viridis-like: L* rises linearly from the first to the last anchor of viridis's published five-stop ramp
    /// (#440154, #3b528b, #21918c, #5ec962, #fde725), a* b* are interpolated between those anchors in CIELAB, and
    /// colours outside the sRGB gamut lose chroma (never lightness). L* is therefore strictly increasing.
    static const Colormap& sequential();
    /// Blue (#3b4cc0) to near-white (L* = 97) to red (#b40426): L* and chroma linear in |2t - 1| on each side,
    /// hue fixed per side. Meant for a symmetric range [-m, m], so 0 is the white centre.
    static const Colormap& diverging();
    /// The map for `kind`.
    static const Colormap& of(ColormapKind kind);

    /// The colour at t in [0, 1] (t is clamped; NaN gives nan_color()).
    Rgb at(double t) const;
    /// The entries, entry i at t = i / (size - 1).
    const std::vector<Rgb>& entries() const { return lut_; }
    const std::string& name() const { return name_; }

private:
    Colormap(std::string name, std::vector<Rgb> lut) : name_(std::move(name)), lut_(std::move(lut)) {}
    std::string name_;
    std::vector<Rgb> lut_;
};

/// The neutral grey drawn for NaN and +-Inf values (0.5, 0.5, 0.5).
Rgb nan_color();

/// CIELAB lightness L* in [0, 100] of an sRGB colour (D65 white).
double lightness(const Rgb& c);

/// CIELAB (L*, a*, b*) to sRGB, channels clamped to [0, 1] (no gamut mapping; see Colormap for that).
Rgb lab_to_rgb(double L, double a, double b);

/// sRGB to CIELAB (L*, a*, b*) written to `lab`.
void rgb_to_lab(const Rgb& c, double lab[3]);

} // namespace lola::figures
