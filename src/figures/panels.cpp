#include "lola/figures/panels.h"

#include <algorithm>
#include <cmath>

#include "canvas.h"
#include "lola/core/error.h"

namespace lola::figures {

namespace fs = std::filesystem;
using detail::Align;
using detail::Canvas;

void check_field(const Field2D& field, const char* what) {
    LOLA_CHECK(field.height > 0 && field.width > 0, "{}: field size {}x{} must be positive", what, field.height,
               field.width);
    LOLA_CHECK(static_cast<int64_t>(field.values.size()) == field.height * field.width,
               "{}: field has {} values but height x width = {} x {} = {}", what, field.values.size(), field.height,
               field.width, field.height * field.width);
}

Field2D difference(const Field2D& a, const Field2D& b) {
    check_field(a, "difference, first field");
    check_field(b, "difference, second field");
    LOLA_CHECK(a.height == b.height && a.width == b.width, "difference of fields of sizes {}x{} and {}x{} (must match)",
               a.height, a.width, b.height, b.width);
    Field2D d{a.height, a.width, std::vector<float>(a.values.size())};
    for (size_t k = 0; k < d.values.size(); ++k) d.values[k] = a.values[k] - b.values[k];
    return d;
}

std::optional<Range> finite_range(const Field2D& field) {
    std::optional<Range> r;
    for (float v : field.values) {
        if (!std::isfinite(v)) continue;
        if (!r) {
            r = Range{v, v};
        } else {
            r->lo = std::min(r->lo, static_cast<double>(v));
            r->hi = std::max(r->hi, static_cast<double>(v));
        }
    }
    return r;
}

Range drawable_range(std::optional<Range> range, ColormapKind kind) {
    if (!range || !std::isfinite(range->lo) || !std::isfinite(range->hi)) {
        return kind == ColormapKind::kDiverging ? Range{-1, 1} : Range{0, 1};
    }
    Range r{std::min(range->lo, range->hi), std::max(range->lo, range->hi)};
    if (kind == ColormapKind::kDiverging) {
        double m = std::max(std::abs(r.lo), std::abs(r.hi));
        if (!(m > 0)) m = 1;
        return {-m, m};
    }
    if (!(r.hi > r.lo)) {
        double d = std::max(std::abs(r.lo) / 2, 0.5);
        return {r.lo - d, r.hi + d};
    }
    return r;
}

Rgb color_of(double value, const Range& range, const Colormap& map) {
    if (!std::isfinite(value)) return nan_color();
    return map.at((value - range.lo) / (range.hi - range.lo));
}

namespace {

// Layout constants, in pixels.
constexpr double kPad = 10, kTitleSize = 16, kLabelSize = 13, kPanelTitleSize = 11, kTickSize = 10;
constexpr int kGap = 10, kBarWidth = 14, kBarGap = 8, kTickLen = 4;
const Rgb kBlack{0, 0, 0};

struct Group {
    ColormapKind kind;
    Range range;
    std::vector<size_t> columns;
};

int scale_for(const Field2D& f, int min_px) {
    int64_t side = std::max(f.height, f.width);
    return static_cast<int>(std::max<int64_t>(1, (min_px + side - 1) / side));
}

Range union_range(const std::vector<const Panel*>& panels, ColormapKind kind) {
    std::optional<Range> r;
    for (const Panel* p : panels) {
        std::optional<Range> pr = p->range ? p->range : finite_range(p->field);
        if (!pr) continue;
        if (!r) {
            r = pr;
        } else {
            r->lo = std::min(r->lo, pr->lo);
            r->hi = std::max(r->hi, pr->hi);
        }
    }
    return drawable_range(r, kind);
}

double bar_label_width(const Range& r) {
    auto ticks = detail::linear_ticks(r.lo, r.hi);
    double step = ticks.size() > 1 ? ticks[1] - ticks[0] : 0;
    double w = 0;
    for (double t : ticks) w = std::max(w, Canvas::text_width(detail::tick_label(t, step), kTickSize));
    return w;
}

// The field upscaled by `scale` (nearest neighbour) into an ARGB32 image painted at (x, y).
void draw_field(Canvas& canvas, const Field2D& f, int scale, const Range& range, const Colormap& map, int x, int y) {
    int w = static_cast<int>(f.width) * scale, h = static_cast<int>(f.height) * scale;
    cairo_surface_t* img = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, w, h);
    cairo_surface_flush(img);
    unsigned char* data = cairo_image_surface_get_data(img);
    int stride = cairo_image_surface_get_stride(img);
    std::vector<uint32_t> row(static_cast<size_t>(w));
    for (int64_t i = 0; i < f.height; ++i) {
        for (int64_t j = 0; j < f.width; ++j) {
            uint32_t px = detail::pack_pixel(color_of(f.at(i, j), range, map));
            std::fill_n(row.begin() + j * scale, scale, px);
        }
        for (int k = 0; k < scale; ++k) {
            std::copy(row.begin(), row.end(),
                      reinterpret_cast<uint32_t*>(data + static_cast<ptrdiff_t>((i * scale + k) * stride)));
        }
    }
    cairo_surface_mark_dirty(img);
    cairo_set_source_surface(canvas.cr(), img, x, y);
    cairo_pattern_set_filter(cairo_get_source(canvas.cr()), CAIRO_FILTER_NEAREST);
    cairo_paint(canvas.cr());
    cairo_surface_destroy(img);
}

// A vertical colour bar: top row = range.hi (t = 1), bottom row = range.lo (t = 0), ticks and labels on its right.
void draw_colorbar(Canvas& canvas, const Rect& bar, const Range& range, const Colormap& map) {
    cairo_surface_t* img = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, 1, bar.height);
    cairo_surface_flush(img);
    unsigned char* data = cairo_image_surface_get_data(img);
    int stride = cairo_image_surface_get_stride(img);
    for (int yy = 0; yy < bar.height; ++yy) {
        double t = bar.height > 1 ? 1.0 - static_cast<double>(yy) / (bar.height - 1) : 0.5;
        *reinterpret_cast<uint32_t*>(data + static_cast<ptrdiff_t>(yy) * stride) = detail::pack_pixel(map.at(t));
    }
    cairo_surface_mark_dirty(img);
    cairo_t* cr = canvas.cr();
    cairo_save(cr);
    cairo_rectangle(cr, bar.x, bar.y, bar.width, bar.height);
    cairo_clip(cr);
    cairo_translate(cr, bar.x, bar.y);
    cairo_scale(cr, bar.width, 1);
    cairo_set_source_surface(cr, img, 0, 0);
    cairo_pattern_set_filter(cairo_get_source(cr), CAIRO_FILTER_NEAREST);
    cairo_paint(cr);
    cairo_restore(cr);
    cairo_surface_destroy(img);
    canvas.stroke_rect(bar.x - 0.5, bar.y - 0.5, bar.width + 1, bar.height + 1, kBlack, 1);

    auto ticks = detail::linear_ticks(range.lo, range.hi);
    double step = ticks.size() > 1 ? ticks[1] - ticks[0] : 0;
    for (double v : ticks) {
        double yy = bar.y + (range.hi - v) / (range.hi - range.lo) * (bar.height - 1) + 0.5;
        double x0 = bar.x + bar.width;
        canvas.line(x0, yy, x0 + kTickLen, yy, kBlack, 1);
        canvas.text(x0 + kTickLen + 2, yy, detail::tick_label(v, step), kTickSize);
    }
}

/// The grid's shape after the checks: one cell size for all panels (each field upscaled by its own integer factor).
struct Cells {
    size_t n_rows = 0, n_cols = 0;
    int width = 0, height = 0;
    bool any_panel_title = false;
};

Cells check_grid(const fs::path& path, const PanelGrid& grid) {
    Cells cells;
    cells.n_rows = grid.rows.size();
    LOLA_CHECK(cells.n_rows > 0, "figure '{}': the panel grid has no rows", path.string());
    for (const auto& row : grid.rows) cells.n_cols = std::max(cells.n_cols, row.size());
    LOLA_CHECK(cells.n_cols > 0, "figure '{}': the panel grid has no panels", path.string());
    LOLA_CHECK(grid.row_labels.empty() || grid.row_labels.size() == cells.n_rows,
               "figure '{}': {} row labels for {} rows (give one per row or none)", path.string(),
               grid.row_labels.size(), cells.n_rows);
    LOLA_CHECK(grid.column_titles.empty() || grid.column_titles.size() == cells.n_cols,
               "figure '{}': {} column titles for {} columns (give one per column or none)", path.string(),
               grid.column_titles.size(), cells.n_cols);
    LOLA_CHECK(grid.min_panel_px > 0 && grid.min_panel_px <= 4096, "figure '{}': min_panel_px = {} must be in 1..4096",
               path.string(), grid.min_panel_px);
    for (size_t r = 0; r < cells.n_rows; ++r) {
        for (size_t c = 0; c < grid.rows[r].size(); ++c) {
            const Panel& p = grid.rows[r][c];
            std::string what = fmt::format("figure '{}', panel (row {}, column {})", path.string(), r, c);
            check_field(p.field, what.c_str());
            if (p.range) {
                LOLA_CHECK(std::isfinite(p.range->lo) && std::isfinite(p.range->hi) && p.range->lo <= p.range->hi,
                           "{}: range [{}, {}] must be finite with lo <= hi", what, p.range->lo, p.range->hi);
            }
            int s = scale_for(p.field, grid.min_panel_px);
            cells.width = std::max(cells.width, static_cast<int>(p.field.width) * s);
            cells.height = std::max(cells.height, static_cast<int>(p.field.height) * s);
            cells.any_panel_title = cells.any_panel_title || !p.title.empty();
        }
    }
    return cells;
}

/// The colour-bar groups of each row: per row and colormap (per_row), or one per panel.
std::vector<std::vector<Group>> colour_groups(const PanelGrid& grid) {
    std::vector<std::vector<Group>> groups(grid.rows.size());
    for (size_t r = 0; r < grid.rows.size(); ++r) {
        const auto& row = grid.rows[r];
        if (grid.range_mode == RangeMode::kPerPanel) {
            for (size_t c = 0; c < row.size(); ++c) {
                groups[r].push_back({row[c].colormap, union_range({&row[c]}, row[c].colormap), {c}});
            }
            continue;
        }
        for (ColormapKind kind : {ColormapKind::kSequential, ColormapKind::kDiverging}) {
            Group g{kind, {}, {}};
            std::vector<const Panel*> members;
            for (size_t c = 0; c < row.size(); ++c) {
                if (row[c].colormap == kind) {
                    g.columns.push_back(c);
                    members.push_back(&row[c]);
                }
            }
            if (members.empty()) continue;
            g.range = union_range(members, kind);
            groups[r].push_back(g);
        }
    }
    return groups;
}

/// Where the titles, labels, panels and colour bars go.
struct Geometry {
    int left = 0, top = 0, title_h = 0, panel_title_h = 0, col_w = 0, row_h = 0;
};

Geometry grid_geometry(const PanelGrid& grid, const Cells& cells, const std::vector<std::vector<Group>>& groups,
                       PanelsLayout& layout) {
    double label_w = 0; // widest tick label over all bars
    for (const auto& row : groups) {
        for (const Group& g : row) label_w = std::max(label_w, bar_label_width(g.range));
    }
    const int bar_block = kBarGap + kBarWidth + kTickLen + 2 + static_cast<int>(std::ceil(label_w)) + 4;
    Geometry geo;
    double row_label_w = 0;
    for (const auto& l : grid.row_labels) row_label_w = std::max(row_label_w, Canvas::text_width(l, kLabelSize, true));
    geo.left = static_cast<int>(kPad + (row_label_w > 0 ? std::ceil(row_label_w) + kGap : 0));
    geo.title_h = grid.title.empty() ? 0 : 26;
    bool any_col_title = std::any_of(grid.column_titles.begin(), grid.column_titles.end(),
                                     [](const std::string& s) { return !s.empty(); });
    const int col_title_h = any_col_title ? 20 : 0;
    geo.panel_title_h = cells.any_panel_title ? 16 : 0;
    geo.top = static_cast<int>(kPad) + geo.title_h + col_title_h;
    geo.col_w = cells.width + (grid.range_mode == RangeMode::kPerPanel ? bar_block : 0);
    geo.row_h = geo.panel_title_h + cells.height;
    size_t max_groups = 0;
    for (const auto& g : groups) max_groups = std::max(max_groups, g.size());
    const int right_bars = grid.range_mode == RangeMode::kPerRow ? static_cast<int>(max_groups) * bar_block : 0;
    const int n_c = static_cast<int>(cells.n_cols), n_r = static_cast<int>(cells.n_rows);
    layout.width = geo.left + n_c * geo.col_w + (n_c - 1) * kGap + right_bars + static_cast<int>(kPad);
    layout.height = geo.top + n_r * geo.row_h + (n_r - 1) * kGap + static_cast<int>(kPad);
    if (!grid.title.empty()) {
        layout.width =
            std::max(layout.width, static_cast<int>(2 * kPad + Canvas::text_width(grid.title, kTitleSize, true)));
    }

    layout.panels.resize(cells.n_rows);
    layout.colorbars.resize(cells.n_rows);
    layout.ranges.resize(cells.n_rows);
    for (size_t r = 0; r < cells.n_rows; ++r) {
        int y0 = geo.top + static_cast<int>(r) * (geo.row_h + kGap) + geo.panel_title_h;
        for (size_t c = 0; c < grid.rows[r].size(); ++c) {
            const Field2D& f = grid.rows[r][c].field;
            int s = scale_for(f, grid.min_panel_px);
            int w = static_cast<int>(f.width) * s, h = static_cast<int>(f.height) * s;
            int x0 = geo.left + static_cast<int>(c) * (geo.col_w + kGap);
            layout.panels[r].push_back({x0 + (cells.width - w) / 2, y0 + (cells.height - h) / 2, w, h});
        }
        for (size_t g = 0; g < groups[r].size(); ++g) {
            int bx = 0;
            if (grid.range_mode == RangeMode::kPerPanel) {
                bx = geo.left + static_cast<int>(groups[r][g].columns[0]) * (geo.col_w + kGap) + cells.width + kBarGap;
            } else {
                bx = geo.left + n_c * geo.col_w + (n_c - 1) * kGap + static_cast<int>(g) * bar_block + kBarGap;
            }
            layout.colorbars[r].push_back({bx, y0, kBarWidth, cells.height});
            layout.ranges[r].push_back(groups[r][g].range);
        }
    }
    return geo;
}

void draw_grid(Canvas& canvas, const PanelGrid& grid, const Cells& cells, const std::vector<std::vector<Group>>& groups,
               const Geometry& geo, const PanelsLayout& layout) {
    if (!grid.title.empty()) canvas.text(layout.width / 2.0, kPad + 10, grid.title, kTitleSize, Align::kCenter, true);
    for (size_t c = 0; c < grid.column_titles.size(); ++c) {
        double cx = geo.left + static_cast<double>(c) * (geo.col_w + kGap) + cells.width / 2.0;
        canvas.text(cx, kPad + geo.title_h + 9, grid.column_titles[c], kLabelSize, Align::kCenter, true);
    }
    for (size_t r = 0; r < cells.n_rows; ++r) {
        double y0 = geo.top + static_cast<double>(r) * (geo.row_h + kGap);
        if (!grid.row_labels.empty()) {
            canvas.text(kPad, y0 + geo.panel_title_h + cells.height / 2.0, grid.row_labels[r], kLabelSize, Align::kLeft,
                        true);
        }
        for (size_t g = 0; g < groups[r].size(); ++g) {
            const Group& grp = groups[r][g];
            const Colormap& map = Colormap::of(grp.kind);
            for (size_t c : grp.columns) {
                const Panel& p = grid.rows[r][c];
                const Rect& box = layout.panels[r][c];
                draw_field(canvas, p.field, box.width / static_cast<int>(p.field.width), grp.range, map, box.x, box.y);
                if (!p.title.empty()) {
                    canvas.text(box.x + box.width / 2.0, y0 + 7, p.title, kPanelTitleSize, Align::kCenter);
                }
            }
            draw_colorbar(canvas, layout.colorbars[r][g], grp.range, map);
        }
    }
}

} // namespace

PanelsLayout write_panels(const fs::path& path, const PanelGrid& grid) {
    const detail::Format format = detail::output_format(path);
    const Cells cells = check_grid(path, grid);
    const std::vector<std::vector<Group>> groups = colour_groups(grid);
    PanelsLayout layout;
    const Geometry geo = grid_geometry(grid, cells, groups, layout);
    detail::render_to_file(path, format, layout.width, layout.height,
                           [&](Canvas& canvas) { draw_grid(canvas, grid, cells, groups, geo, layout); });
    return layout;
}

} // namespace lola::figures
