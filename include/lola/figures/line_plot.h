// Line plots (metrics against lead time): several named series, a legend, linear or log y axis; PNG or SVG.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "lola/figures/panels.h"

namespace lola::figures {

/// One named curve. NaN/Inf points (and y <= 0 on a log axis) are skipped and break the line there.
struct Series {
    std::string name;
    std::vector<double> x;
    std::vector<double> y; ///< same length as x
};

/// Scale of the y axis.
enum class AxisScale { kLinear, kLog };

/// A line plot. Series get distinct colours (an 8-colour colour-blind-safe palette, then dashed repeats).
struct LinePlot {
    std::string title;
    std::string x_label;
    std::string y_label;
    std::vector<Series> series;
    AxisScale y_scale = AxisScale::kLinear;
    int width = 720;  ///< pixels
    int height = 480; ///< pixels
};

/// Where write_line_plot put things.
struct LinePlotLayout {
    int width = 0, height = 0;
    Rect plot;               ///< the axes box
    Range x_range, y_range;  ///< data ranges of the box edges (log axis: in data units, not log10)
    std::vector<Rgb> colors; ///< colour of each series
};

/// The colour write_line_plot gives series number `i`.
Rgb series_color(size_t i);

/// Draw `plot` to `path` (".png" or ".svg"), atomically. Throws lola::Error naming the path for an unknown
/// extension or missing folder, and naming the series for mismatched x/y lengths or no drawable point at all.
LinePlotLayout write_line_plot(const std::filesystem::path& path, const LinePlot& plot);

} // namespace lola::figures
