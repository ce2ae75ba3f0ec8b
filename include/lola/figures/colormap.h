// Colormaps for figures: viridis (sequential) and a symmetric blue-white-red diverging map.
#pragma once

#include <string>
#include <vector>

namespace lola::figures {

/// An sRGB colour, each channel in [0, 1].
struct Rgb {
    double r = 0, g = 0, b = 0;
};

/// Which colormap a panel uses. Sequential for fields, diverging for signed errors (its range is made symmetric).
enum class ColormapKind { kSequential, kDiverging };

/// A colormap: a table of sRGB entries (256 for the sequential map, 257 for the diverging one so that its white centre
/// is an exact entry), linearly interpolated between entries.
class Colormap {
public:
    /// viridis (van der Walt and Smith, CC0): its 256 published entries (src/figures/colormap_data.cpp). Uniform in
    /// CAM02-UCS, so CIELAB L* rises strictly from 15 to 91, in nearly (not exactly) equal steps.
    static const Colormap& sequential();
    /// Blue (#3b4cc0) to near-white (L* = 97) to red (#b40426), the end colours of Moreland's cool-warm map, built in
    /// CIELAB: L* and chroma linear in |2t - 1| on each side, hue fixed per side, colours outside sRGB lose chroma
    /// (never lightness). So lightness falls symmetrically and strictly away from the centre. Meant for a symmetric
    /// range [-m, m], so 0 is the white centre.
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
