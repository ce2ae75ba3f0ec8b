// Panel grids: rows x columns of colour-mapped 2-D fields with colour bars, written as PNG or SVG.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "lola/figures/colormap.h"
#include "lola/figures/field.h"

namespace lola::figures {

/// A closed value range [lo, hi] mapped onto a colormap.
struct Range {
    double lo = 0;
    double hi = 1;
};

/// One panel: a field, its colormap and an optional title drawn above it.
struct Panel {
    std::string title; ///< drawn above the panel ("" = none)
    Field2D field;     ///< the values
    ColormapKind colormap = ColormapKind::kSequential;
    std::optional<Range> range; ///< fixed range (e.g. shared over animation frames); else data
};

/// How panels share a value range.
enum class RangeMode {
    kPerRow,   ///< panels of a row with the same colormap share one range and one colour bar at the row's end
    kPerPanel, ///< every panel has its own range and its own colour bar right of it
};

/// A figure: rows of panels (e.g. one row per field; columns truth, reconstruction, member 1..k, error).
struct PanelGrid {
    std::string title;                      ///< figure title on top ("" = none)
    std::vector<std::string> row_labels;    ///< left of each row (e.g. field names); empty or one per row
    std::vector<std::string> column_titles; ///< above the first row; empty or one per column
    std::vector<std::vector<Panel>> rows;   ///< rows[r][c]; rows may be shorter than the widest (blank cells)
    RangeMode range_mode = RangeMode::kPerRow;
    int min_panel_px = 128; ///< fields are upscaled by an integer factor (nearest neighbour) to at least this size
};

/// A pixel rectangle in the written figure (x right, y down, origin top-left).
struct Rect {
    int x = 0, y = 0, width = 0, height = 0;
};

/// Where write_panels put things (for callers that annotate, and for tests).
struct PanelsLayout {
    int width = 0, height = 0;             ///< figure size in pixels (SVG: user units)
    std::vector<std::vector<Rect>> panels; ///< panels[r][c]: the field's image (width = scale * field.width)
    /// per_row: colorbars[r][g], one per colormap used in row r (sequential before diverging);
    /// per_panel: colorbars[r][c]. The bar's top pixel row is the range's hi, the bottom row its lo.
    std::vector<std::vector<Rect>> colorbars;
    std::vector<std::vector<Range>> ranges; ///< the ranges used, indexed like colorbars
};

/// Finite min and max of `field`; nullopt when it has no finite value.
std::optional<Range> finite_range(const Field2D& field);

/// The range actually drawn: a diverging range becomes symmetric [-m, m] (m = 1 when all zero); an empty range
/// (constant field) is widened to v -+ max(|v| / 2, 0.5) so nothing divides by zero; no data gives [0, 1].
Range drawable_range(std::optional<Range> range, ColormapKind kind);

/// The colour of `value` under `map` on `range` (clamped at the ends); NaN/Inf give nan_color().
Rgb color_of(double value, const Range& range, const Colormap& map);

/// Draw `grid` to `path`: PNG for ".png", SVG for ".svg" (case-insensitive), written atomically (temporary sibling,
/// then rename). Throws lola::Error naming the path for an unknown extension, a missing parent folder, or a failed
/// write, and naming the panel for a malformed field.
PanelsLayout write_panels(const std::filesystem::path& path, const PanelGrid& grid);

} // namespace lola::figures
