#include "lola/figures/line_plot.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>

#include "canvas.h"
#include "lola/core/error.h"

namespace lola::figures {

namespace fs = std::filesystem;
using detail::Align;
using detail::Canvas;

Rgb series_color(size_t i) {
    // Okabe & Ito's colour-blind-safe palette, ordered so that the first few are the most distinct on white.
    static const std::array<Rgb, 8> palette{{{0.0, 0.447, 0.698},
                                             {0.835, 0.369, 0.0},
                                             {0.0, 0.620, 0.451},
                                             {0.902, 0.624, 0.0},
                                             {0.800, 0.475, 0.655},
                                             {0.337, 0.706, 0.914},
                                             {0.0, 0.0, 0.0},
                                             {0.941, 0.894, 0.259}}};
    return palette[i % palette.size()];
}

namespace {

constexpr double kPad = 10, kTitleSize = 15, kLabelSize = 12, kTickSize = 10, kLegendSize = 11;
const Rgb kBlack{0, 0, 0}, kGrid{0.88, 0.88, 0.88}, kFrame{0.5, 0.5, 0.5};

bool usable(double x, double y, bool log_y) { return std::isfinite(x) && std::isfinite(y) && (!log_y || y > 0); }

/// The data ranges over the usable points of every series, widened when flat and padded by 4% (log axis: in log
/// space).
struct DataRanges {
    double x_lo = INFINITY, x_hi = -INFINITY, y_lo = INFINITY, y_hi = -INFINITY;
};

DataRanges data_ranges(const fs::path& path, const LinePlot& plot, bool log_y) {
    DataRanges r;
    for (const Series& s : plot.series) {
        LOLA_CHECK(s.x.size() == s.y.size(), "line plot '{}': series '{}' has {} x but {} y values", path.string(),
                   s.name, s.x.size(), s.y.size());
        for (size_t k = 0; k < s.x.size(); ++k) {
            if (!usable(s.x[k], s.y[k], log_y)) continue;
            r.x_lo = std::min(r.x_lo, s.x[k]);
            r.x_hi = std::max(r.x_hi, s.x[k]);
            r.y_lo = std::min(r.y_lo, s.y[k]);
            r.y_hi = std::max(r.y_hi, s.y[k]);
        }
    }
    LOLA_CHECK(r.x_lo <= r.x_hi, "line plot '{}': no series has a finite point{} to draw", path.string(),
               log_y ? " with y > 0 (log axis)" : "");
    if (!(r.x_hi > r.x_lo)) {
        double d = std::max(std::abs(r.x_lo) / 2, 0.5);
        r.x_lo -= d;
        r.x_hi += d;
    }
    if (log_y) {
        if (!(r.y_hi > r.y_lo)) {
            r.y_lo /= 2;
            r.y_hi *= 2;
        }
        double margin = std::pow(r.y_hi / r.y_lo, 0.04);
        r.y_lo /= margin;
        r.y_hi *= margin;
    } else {
        if (!(r.y_hi > r.y_lo)) {
            double d = std::max(std::abs(r.y_lo) / 2, 0.5);
            r.y_lo -= d;
            r.y_hi += d;
        }
        double margin = 0.04 * (r.y_hi - r.y_lo);
        r.y_lo -= margin;
        r.y_hi += margin;
    }
    return r;
}

/// Tick positions and labels of both axes.
struct Ticks {
    std::vector<double> x;
    double x_step = 0;
    std::vector<double> y;
    std::vector<std::string> y_labels;
    double y_label_width = 0; ///< of the widest y label
};

Ticks axis_ticks(const DataRanges& r, bool log_y) {
    Ticks t;
    t.x = detail::linear_ticks(r.x_lo, r.x_hi, 6);
    t.x_step = t.x.size() > 1 ? t.x[1] - t.x[0] : 0;
    t.y = log_y ? detail::log_ticks(r.y_lo, r.y_hi) : std::vector<double>{};
    const bool linear_y_ticks = t.y.size() < 2; // also a log axis spanning less than one 1-2-5 step
    if (linear_y_ticks) t.y = detail::linear_ticks(r.y_lo, r.y_hi, 6);
    const double y_step = linear_y_ticks && t.y.size() > 1 ? t.y[1] - t.y[0] : 0;
    for (double v : t.y) {
        t.y_labels.push_back(detail::tick_label(v, y_step));
        t.y_label_width = std::max(t.y_label_width, Canvas::text_width(t.y_labels.back(), kTickSize));
    }
    return t;
}

/// The axes box (room for the title, labels and tick labels), data ranges and series colours.
LinePlotLayout plot_layout(const fs::path& path, const LinePlot& plot, const DataRanges& r, const Ticks& ticks) {
    LinePlotLayout layout;
    layout.width = plot.width;
    layout.height = plot.height;
    const int top = static_cast<int>(kPad + (plot.title.empty() ? 4 : 26));
    const int left = static_cast<int>(kPad + (plot.y_label.empty() ? 0 : 20) + std::ceil(ticks.y_label_width) + 8);
    const int bottom = static_cast<int>(kPad + (plot.x_label.empty() ? 0 : 20) + 18);
    const int right = static_cast<int>(kPad + 6);
    layout.plot = {left, top, plot.width - left - right, plot.height - top - bottom};
    LOLA_CHECK(layout.plot.width > 20 && layout.plot.height > 20,
               "line plot '{}': {}x{} pixels leave no room for the axes (make it larger)", path.string(), plot.width,
               plot.height);
    layout.x_range = {r.x_lo, r.x_hi};
    layout.y_range = {r.y_lo, r.y_hi};
    for (size_t i = 0; i < plot.series.size(); ++i) layout.colors.push_back(series_color(i));
    return layout;
}

/// Data coordinates to pixels in the axes box.
struct ToPixels {
    Rect box;
    DataRanges r;
    bool log_y;
    double x(double v) const { return box.x + (v - r.x_lo) / (r.x_hi - r.x_lo) * box.width; }
    double y(double v) const {
        double u = log_y ? (std::log(v) - std::log(r.y_lo)) / (std::log(r.y_hi) - std::log(r.y_lo))
                         : (v - r.y_lo) / (r.y_hi - r.y_lo);
        return box.y + (1 - u) * box.height;
    }
};

void draw_axes(Canvas& canvas, const LinePlot& plot, const Ticks& ticks, const ToPixels& to) {
    const Rect& box = to.box;
    if (!plot.title.empty()) canvas.text(plot.width / 2.0, kPad + 9, plot.title, kTitleSize, Align::kCenter, true);
    for (size_t k = 0; k < ticks.y.size(); ++k) {
        double yy = std::round(to.y(ticks.y[k])) + 0.5;
        canvas.line(box.x, yy, box.x + box.width, yy, kGrid, 1);
        canvas.line(box.x - 4, yy, box.x, yy, kBlack, 1);
        canvas.text(box.x - 6, yy, ticks.y_labels[k], kTickSize, Align::kRight);
    }
    for (double v : ticks.x) {
        double xx = std::round(to.x(v)) + 0.5;
        canvas.line(xx, box.y, xx, box.y + box.height, kGrid, 1);
        canvas.line(xx, box.y + box.height, xx, box.y + box.height + 4, kBlack, 1);
        canvas.text(xx, box.y + box.height + 12, detail::tick_label(v, ticks.x_step), kTickSize, Align::kCenter);
    }
    canvas.stroke_rect(box.x + 0.5, box.y + 0.5, box.width - 1, box.height - 1, kFrame, 1);
    if (!plot.x_label.empty()) {
        canvas.text(box.x + box.width / 2.0, plot.height - kPad - 8, plot.x_label, kLabelSize, Align::kCenter);
    }
    if (!plot.y_label.empty()) {
        canvas.text(kPad + 2, box.y + box.height / 2.0, plot.y_label, kLabelSize, Align::kCenter, false, true);
    }
}

/// The series, clipped to the box; a skipped point breaks the line. Short series also get a dot per point.
void draw_series(Canvas& canvas, const LinePlot& plot, const LinePlotLayout& layout, const ToPixels& to) {
    cairo_t* cr = canvas.cr();
    const Rect& box = to.box;
    cairo_save(cr);
    cairo_rectangle(cr, box.x, box.y, box.width, box.height);
    cairo_clip(cr);
    for (size_t i = 0; i < plot.series.size(); ++i) {
        const Series& s = plot.series[i];
        canvas.set_color(layout.colors[i]);
        const double dash[] = {6, 3};
        cairo_set_dash(cr, dash, i >= 8 ? 2 : 0, 0);
        cairo_set_line_width(cr, 1.8);
        cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND);
        bool pen_down = false;
        for (size_t k = 0; k < s.x.size(); ++k) {
            if (!usable(s.x[k], s.y[k], to.log_y)) {
                pen_down = false;
                continue;
            }
            (pen_down ? cairo_line_to : cairo_move_to)(cr, to.x(s.x[k]), to.y(s.y[k]));
            pen_down = true;
        }
        cairo_stroke(cr);
        cairo_set_dash(cr, nullptr, 0, 0);
        if (s.x.size() <= 60) {
            for (size_t k = 0; k < s.x.size(); ++k) {
                if (!usable(s.x[k], s.y[k], to.log_y)) continue;
                cairo_new_sub_path(cr);
                cairo_arc(cr, to.x(s.x[k]), to.y(s.y[k]), 2.6, 0, 2 * M_PI);
            }
            cairo_fill(cr);
        }
    }
    cairo_restore(cr);
}

/// The legend inside the box, in the corner whose legend box would cover the fewest data points (ties: top right,
/// top left, bottom right, bottom left).
void draw_legend(Canvas& canvas, const LinePlot& plot, const LinePlotLayout& layout, const ToPixels& to) {
    cairo_t* cr = canvas.cr();
    const Rect& box = to.box;
    double name_w = 0;
    for (const Series& s : plot.series) name_w = std::max(name_w, Canvas::text_width(s.name, kLegendSize));
    const double entry_h = 16, sample_w = 22;
    double lw = 8 + sample_w + 6 + name_w + 8, lh = 6 + entry_h * static_cast<double>(plot.series.size()) + 4;
    double lx = 0, ly = 0;
    size_t best = SIZE_MAX;
    for (int corner = 0; corner < 4; ++corner) {
        double cx = corner % 2 == 0 ? box.x + box.width - lw - 8 : box.x + 8;
        double cy = corner < 2 ? box.y + 8 : box.y + box.height - lh - 8;
        size_t covered = 0;
        for (const Series& s : plot.series) {
            for (size_t k = 0; k < s.x.size(); ++k) {
                if (!usable(s.x[k], s.y[k], to.log_y)) continue;
                double X = to.x(s.x[k]), Y = to.y(s.y[k]);
                covered += X >= cx - 4 && X <= cx + lw + 4 && Y >= cy - 4 && Y <= cy + lh + 4;
            }
        }
        if (covered < best) {
            best = covered;
            lx = cx;
            ly = cy;
        }
    }
    canvas.set_color({1, 1, 1}, 0.85);
    cairo_rectangle(cr, lx, ly, lw, lh);
    cairo_fill(cr);
    canvas.stroke_rect(lx + 0.5, ly + 0.5, lw - 1, lh - 1, kFrame, 1);
    for (size_t i = 0; i < plot.series.size(); ++i) {
        double yy = ly + 6 + entry_h * (static_cast<double>(i) + 0.5);
        const double dash[] = {6, 3};
        cairo_set_dash(cr, dash, i >= 8 ? 2 : 0, 0);
        canvas.line(lx + 8, yy, lx + 8 + sample_w, yy, layout.colors[i], 2.5);
        cairo_set_dash(cr, nullptr, 0, 0);
        canvas.text(lx + 8 + sample_w + 6, yy, plot.series[i].name, kLegendSize);
    }
}

} // namespace

LinePlotLayout write_line_plot(const fs::path& path, const LinePlot& plot) {
    const detail::Format format = detail::output_format(path);
    LOLA_CHECK(plot.width >= 120 && plot.height >= 100 && plot.width <= 16384 && plot.height <= 16384,
               "line plot '{}': size {}x{} must be within 120x100 .. 16384x16384", path.string(), plot.width,
               plot.height);
    LOLA_CHECK(!plot.series.empty(), "line plot '{}': no series to draw", path.string());
    const bool log_y = plot.y_scale == AxisScale::kLog;
    const DataRanges ranges = data_ranges(path, plot, log_y);
    const Ticks ticks = axis_ticks(ranges, log_y);
    LinePlotLayout layout = plot_layout(path, plot, ranges, ticks);
    const ToPixels to{layout.plot, ranges, log_y};
    detail::render_to_file(path, format, plot.width, plot.height, [&](Canvas& canvas) {
        draw_axes(canvas, plot, ticks, to);
        draw_series(canvas, plot, layout, to);
        draw_legend(canvas, plot, layout, to);
    });
    return layout;
}

} // namespace lola::figures
