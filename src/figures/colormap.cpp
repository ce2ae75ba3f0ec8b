#include "lola/figures/colormap.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <iterator>

#include "colormap_data.h"
#include "lola/core/error.h"

namespace lola::figures {

namespace {

// D65 reference white in XYZ.
constexpr double kXn = 0.95047, kYn = 1.0, kZn = 1.08883;
constexpr double kDelta = 6.0 / 29.0;

double lab_f(double t) { return t > kDelta * kDelta * kDelta ? std::cbrt(t) : t / (3 * kDelta * kDelta) + 4.0 / 29.0; }
double lab_finv(double t) { return t > kDelta ? t * t * t : 3 * kDelta * kDelta * (t - 4.0 / 29.0); }

double to_linear(double c) { return c <= 0.04045 ? c / 12.92 : std::pow((c + 0.055) / 1.055, 2.4); }
double to_gamma(double c) { return c <= 0.0031308 ? 12.92 * c : 1.055 * std::pow(c, 1 / 2.4) - 0.055; }

// CIELAB to linear sRGB, unclamped.
std::array<double, 3> lab_to_linear(double L, double a, double b) {
    double fy = (L + 16) / 116, fx = fy + a / 500, fz = fy - b / 200;
    double X = kXn * lab_finv(fx), Y = kYn * lab_finv(fy), Z = kZn * lab_finv(fz);
    return {3.2404542 * X - 1.5371385 * Y - 0.4985314 * Z, -0.9692660 * X + 1.8760108 * Y + 0.0415560 * Z,
            0.0556434 * X - 0.2040259 * Y + 1.0572252 * Z};
}

bool in_gamut(const std::array<double, 3>& lin) {
    constexpr double eps = 1e-9;
    return std::all_of(lin.begin(), lin.end(), [](double c) { return c >= -eps && c <= 1 + eps; });
}

// Keep L*, shrink chroma (a*, b* towards 0) until the colour fits in sRGB.
Rgb gamut_mapped(double L, double a, double b) {
    if (!in_gamut(lab_to_linear(L, a, b))) {
        double lo = 0, hi = 1;
        for (int it = 0; it < 40; ++it) {
            double mid = 0.5 * (lo + hi);
            (in_gamut(lab_to_linear(L, a * mid, b * mid)) ? lo : hi) = mid;
        }
        a *= lo;
        b *= lo;
    }
    return lab_to_rgb(L, a, b);
}

std::array<double, 3> lab_of_hex(unsigned hex) {
    Rgb c{((hex >> 16) & 0xff) / 255.0, ((hex >> 8) & 0xff) / 255.0, (hex & 0xff) / 255.0};
    std::array<double, 3> lab{};
    rgb_to_lab(c, lab.data());
    return lab;
}

} // namespace

Rgb nan_color() { return {0.5, 0.5, 0.5}; }

Rgb lab_to_rgb(double L, double a, double b) {
    auto lin = lab_to_linear(L, a, b);
    auto g = [](double c) { return std::clamp(to_gamma(std::clamp(c, 0.0, 1.0)), 0.0, 1.0); };
    return {g(lin[0]), g(lin[1]), g(lin[2])};
}

void rgb_to_lab(const Rgb& c, double lab[3]) {
    double r = to_linear(c.r), g = to_linear(c.g), b = to_linear(c.b);
    double X = 0.4124564 * r + 0.3575761 * g + 0.1804375 * b;
    double Y = 0.2126729 * r + 0.7151522 * g + 0.0721750 * b;
    double Z = 0.0193339 * r + 0.1191920 * g + 0.9503041 * b;
    double fx = lab_f(X / kXn), fy = lab_f(Y / kYn), fz = lab_f(Z / kZn);
    lab[0] = 116 * fy - 16;
    lab[1] = 500 * (fx - fy);
    lab[2] = 200 * (fy - fz);
}

double lightness(const Rgb& c) {
    double lab[3];
    rgb_to_lab(c, lab);
    return lab[0];
}

const Colormap& Colormap::sequential() {
    static const Colormap map = [] {
        std::vector<Rgb> lut(std::size(kViridis));
        for (size_t i = 0; i < lut.size(); ++i) {
            lut[i] = {kViridis[i][0], kViridis[i][1], kViridis[i][2]};
        }
        return Colormap("sequential", std::move(lut));
    }();
    return map;
}

const Colormap& Colormap::diverging() {
    static const Colormap map = [] {
        const auto blue = lab_of_hex(0x3b4cc0), red = lab_of_hex(0xb40426);
        constexpr double kCentreL = 97;
        // An odd count puts t = 0.5 (the value 0 of a symmetric range) exactly on the white entry.
        constexpr int n = 257;
        std::vector<Rgb> lut(n);
        for (int i = 0; i < n; ++i) {
            double t = static_cast<double>(i) / (n - 1);
            double d = std::abs(2 * t - 1); // 0 at the centre, 1 at the ends
            const auto& end = t < 0.5 ? blue : red;
            double L = kCentreL + d * (end[0] - kCentreL);
            lut[static_cast<size_t>(i)] = gamut_mapped(L, d * end[1], d * end[2]);
        }
        return Colormap("diverging", std::move(lut));
    }();
    return map;
}

const Colormap& Colormap::of(ColormapKind kind) {
    return kind == ColormapKind::kDiverging ? diverging() : sequential();
}

Rgb Colormap::at(double t) const {
    if (std::isnan(t)) return nan_color();
    t = std::clamp(t, 0.0, 1.0);
    double s = t * static_cast<double>(lut_.size() - 1);
    size_t k = std::min(static_cast<size_t>(s), lut_.size() - 2);
    double u = s - static_cast<double>(k);
    const Rgb &p = lut_[k], &q = lut_[k + 1];
    return {p.r + u * (q.r - p.r), p.g + u * (q.g - p.g), p.b + u * (q.b - p.b)};
}

} // namespace lola::figures
