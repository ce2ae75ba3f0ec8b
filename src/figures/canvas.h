// Internal to lola::figures: one drawing surface for PNG and SVG, text that stays text in SVG, axis ticks.
#pragma once

#include <cairo.h>

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "lola/figures/colormap.h"

namespace lola::figures::detail {

enum class Format { kPng, kSvg };

/// The format for `path`'s extension; throws lola::Error naming the path unless .png/.svg and the folder exists.
Format output_format(const std::filesystem::path& path);

enum class Align { kLeft, kCenter, kRight };

/// A cairo context plus text handling. PNG: text is rendered by cairo. SVG: text is collected and written as real
/// <text> elements (cairo 1.16 would emit glyph outlines, which are not searchable or editable).
class Canvas {
public:
    Canvas(cairo_t* cr, Format format) : cr_(cr), format_(format) {}
    cairo_t* cr() const { return cr_; }

    void set_color(const Rgb& c, double alpha = 1) const;
    void fill_rect(double x, double y, double w, double h, const Rgb& c) const;
    void stroke_rect(double x, double y, double w, double h, const Rgb& c, double line_width) const;
    void line(double x0, double y0, double x1, double y1, const Rgb& c, double line_width) const;

    /// Text with its vertical centre at y; `x` is its left, centre or right end; vertical = rotated 90 degrees
    /// counter-clockwise (then x is the centre line and y the along-text anchor).
    void text(double x, double y, const std::string& s, double size, Align align = Align::kLeft, bool bold = false,
              bool vertical = false);

    /// Width in pixels of `s` at `size` (cairo's toy font API, DejaVu Sans / sans-serif).
    static double text_width(const std::string& s, double size, bool bold = false);

    /// The SVG elements of the collected text (empty for PNG).
    std::string svg_text() const;

private:
    cairo_t* cr_;
    Format format_;
    std::vector<std::string> svg_text_;
};

/// Create a width x height surface for `path`'s format, call `draw`, and write it atomically (temporary sibling,
/// then rename). The temporary is removed on any failure.
void render_to_file(const std::filesystem::path& path, Format format, int width, int height,
                    const std::function<void(Canvas&)>& draw);

/// Pack an sRGB colour into a cairo ARGB32 pixel (opaque).
uint32_t pack_pixel(const Rgb& c);

/// About `target` ticks at 1, 2 or 5 times a power of ten inside [lo, hi].
std::vector<double> linear_ticks(double lo, double hi, int target = 5);
/// Ticks inside [lo, hi] (lo > 0) at powers of ten; also at 2x and 5x within 2.2 decades, at 3x within 4.
std::vector<double> log_ticks(double lo, double hi);
/// A short label for tick `v` among ticks spaced `step` apart (step <= 0: a general short format).
std::string tick_label(double v, double step);

} // namespace lola::figures::detail
