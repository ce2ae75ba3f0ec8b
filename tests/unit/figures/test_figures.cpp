#include <cairo.h>
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <random>
#include <string>

#include "lola/core/error.h"
#include "lola/core/fs.h"
#include "lola/figures/animation.h"
#include "lola/figures/colormap.h"
#include "lola/figures/line_plot.h"
#include "lola/figures/panels.h"
#include "support/test_support.h"

namespace fs = std::filesystem;
using namespace lola::figures;

namespace {

/// A PNG read back through cairo.
struct Image {
    explicit Image(const fs::path& path) : surface(cairo_image_surface_create_from_png(path.c_str())) {}
    ~Image() { cairo_surface_destroy(surface); }
    Image(const Image&) = delete;
    Image& operator=(const Image&) = delete;
    bool ok() const { return cairo_surface_status(surface) == CAIRO_STATUS_SUCCESS; }
    int width() const { return cairo_image_surface_get_width(surface); }
    int height() const { return cairo_image_surface_get_height(surface); }
    /// 0x00RRGGBB of pixel (x, y); the figures are opaque, so premultiplication does not matter.
    uint32_t rgb(int x, int y) const {
        const unsigned char* data = cairo_image_surface_get_data(surface);
        int stride = cairo_image_surface_get_stride(surface);
        return *reinterpret_cast<const uint32_t*>(data + y * stride + 4 * x) & 0xffffffu;
    }
    cairo_surface_t* surface;
};

uint32_t bytes_of(const Rgb& c) {
    auto b = [](double v) { return static_cast<uint32_t>(std::lround(v * 255)); };
    return (b(c.r) << 16) | (b(c.g) << 8) | b(c.b);
}

/// Largest per-channel difference between two 0xRRGGBB colours.
int channel_diff(uint32_t a, uint32_t b) {
    int d = 0;
    for (int shift : {0, 8, 16}) {
        d = std::max(d, std::abs(static_cast<int>((a >> shift) & 0xff) - static_cast<int>((b >> shift) & 0xff)));
    }
    return d;
}

#define EXPECT_COLOR(actual, expected) EXPECT_LE(channel_diff((actual), bytes_of(expected)), 1)

/// A field whose left half is `lo` and right half `hi`.
Field2D halves(int64_t h, int64_t w, float lo, float hi) {
    Field2D f{h, w, std::vector<float>(static_cast<size_t>(h * w))};
    for (int64_t i = 0; i < h; ++i) {
        for (int64_t j = 0; j < w; ++j) f.values[static_cast<size_t>(i * w + j)] = j < w / 2 ? lo : hi;
    }
    return f;
}

Field2D random_field(int64_t h, int64_t w, unsigned seed) {
    std::mt19937 gen(seed);
    std::normal_distribution<float> normal;
    Field2D f{h, w, std::vector<float>(static_cast<size_t>(h * w))};
    for (auto& v : f.values) v = normal(gen);
    return f;
}

std::vector<std::string> names_in(const fs::path& dir) {
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
}

using lola::test::error_of;

/// Sets PATH for the lifetime of the object.
struct ScopedPath {
    explicit ScopedPath(const std::string& value) : old(std::getenv("PATH") ? std::getenv("PATH") : "") {
        setenv("PATH", value.c_str(), 1);
    }
    ~ScopedPath() { setenv("PATH", old.c_str(), 1); }
    std::string old;
};

} // namespace

TEST(Colormap, SequentialLightnessStrictlyIncreases) {
    const Colormap& map = Colormap::sequential();
    ASSERT_EQ(map.entries().size(), 256u);
    double prev = -1;
    for (int k = 0; k <= 1000; ++k) {
        double L = lightness(map.at(k / 1000.0));
        EXPECT_GT(L, prev) << "t = " << k / 1000.0;
        prev = L;
    }
    // The ends and the middle are viridis's published entries 0, 128 and 255.
    auto expect_entry = [&](double t, Rgb want) {
        const Rgb got = map.at(t);
        EXPECT_NEAR(got.r, want.r, 1e-6) << t;
        EXPECT_NEAR(got.g, want.g, 1e-6) << t;
        EXPECT_NEAR(got.b, want.b, 1e-6) << t;
    };
    expect_entry(0, {0.267004, 0.004874, 0.329415});
    expect_entry(128 / 255.0, {0.127568, 0.566949, 0.550556});
    expect_entry(1, {0.993248, 0.906157, 0.143936});
    // Equal steps in t give similar steps in L* (viridis is uniform in CAM02-UCS, not exactly in CIELAB L*).
    double lo = 1e9, hi = 0;
    for (int k = 0; k < 10; ++k) {
        const double step = lightness(map.at((k + 1) / 10.0)) - lightness(map.at(k / 10.0));
        lo = std::min(lo, step);
        hi = std::max(hi, step);
    }
    EXPECT_GT(lo, 0.8 * hi);
    EXPECT_NEAR(lightness(map.at(0)), 15.0, 0.5);
    EXPECT_NEAR(lightness(map.at(1)), 90.9, 0.5);
}

TEST(Colormap, DivergingIsBlueWhiteRed) {
    const Colormap& map = Colormap::diverging();
    Rgb lo = map.at(0), mid = map.at(0.5), hi = map.at(1);
    EXPECT_GT(lo.b, lo.r);
    EXPECT_GT(hi.r, hi.b);
    double lab[3];
    rgb_to_lab(mid, lab);
    EXPECT_NEAR(lab[0], 97, 0.6);
    EXPECT_LT(std::hypot(lab[1], lab[2]), 2.0);
    // Lightness rises to the centre and falls after it.
    for (int k = 0; k < 500; ++k) {
        double t = k / 1000.0;
        EXPECT_LT(lightness(map.at(t)), lightness(map.at(t + 0.001)) + 1e-9) << t;
        EXPECT_LT(lightness(map.at(1 - t)), lightness(map.at(1 - t - 0.001)) + 1e-9) << t;
    }
}

TEST(Colormap, LabRoundTrip) {
    for (Rgb c : {Rgb{0.1, 0.5, 0.9}, Rgb{1, 1, 1}, Rgb{0.7, 0.2, 0.3}}) {
        double lab[3];
        rgb_to_lab(c, lab);
        Rgb back = lab_to_rgb(lab[0], lab[1], lab[2]);
        EXPECT_NEAR(back.r, c.r, 1e-6);
        EXPECT_NEAR(back.g, c.g, 1e-6);
        EXPECT_NEAR(back.b, c.b, 1e-6);
    }
    EXPECT_NEAR(lightness({1, 1, 1}), 100, 1e-3);
    EXPECT_NEAR(lightness({0, 0, 0}), 0, 1e-9);
}

TEST(Ranges, DegenerateInputsStayDrawable) {
    Field2D constant{2, 3, std::vector<float>(6, 4.0f)};
    Range r = drawable_range(finite_range(constant), ColormapKind::kSequential);
    EXPECT_LT(r.lo, 4.0);
    EXPECT_GT(r.hi, 4.0);
    EXPECT_COLOR(bytes_of(color_of(4.0, r, Colormap::sequential())), Colormap::sequential().at(0.5));

    Field2D zeros{2, 2, std::vector<float>(4, 0.0f)};
    Range z = drawable_range(finite_range(zeros), ColormapKind::kSequential);
    EXPECT_LT(z.lo, 0.0);
    EXPECT_GT(z.hi, 0.0);

    Field2D bad{1, 3, {NAN, INFINITY, -INFINITY}};
    EXPECT_FALSE(finite_range(bad).has_value());
    Range b = drawable_range(finite_range(bad), ColormapKind::kSequential);
    EXPECT_EQ(b.lo, 0.0);
    EXPECT_EQ(b.hi, 1.0);

    Field2D mixed{1, 4, {NAN, -3.0f, INFINITY, 1.0f}};
    Range m = drawable_range(finite_range(mixed), ColormapKind::kDiverging);
    EXPECT_EQ(m.lo, -3.0);
    EXPECT_EQ(m.hi, 3.0);
    EXPECT_COLOR(bytes_of(color_of(NAN, m, Colormap::diverging())), nan_color());
    EXPECT_COLOR(bytes_of(color_of(-INFINITY, m, Colormap::diverging())), nan_color());
    EXPECT_COLOR(bytes_of(color_of(10.0, m, Colormap::diverging())), Colormap::diverging().at(1));
}

TEST(Panels, PngPixelsAreTheColormapEnds) {
    lola::test::TempDir dir;
    PanelGrid grid;
    grid.title = "Euler, t = 3";
    grid.row_labels = {"density", "pressure"};
    grid.column_titles = {"truth", "reconstruction", "error"};
    // Row 0: truth 0|3, reconstruction 1|2 (same row range [0, 3]), error -2|1 (symmetric range [-2, 2]).
    grid.rows.push_back({{"", halves(16, 16, 0, 3), ColormapKind::kSequential, std::nullopt},
                         {"", halves(16, 16, 1, 2), ColormapKind::kSequential, std::nullopt},
                         {"", halves(16, 16, -2, 1), ColormapKind::kDiverging, std::nullopt}});
    // Row 1: one 32x64 panel, a different range.
    grid.rows.push_back({{"member 1", halves(32, 64, -5, 5), ColormapKind::kSequential, std::nullopt}});
    fs::path path = dir / "panels.png";
    PanelsLayout layout = write_panels(path, grid);

    Image img(path);
    ASSERT_TRUE(img.ok());
    EXPECT_EQ(img.width(), layout.width);
    EXPECT_EQ(img.height(), layout.height);
    const Colormap &seq = Colormap::sequential(), &div = Colormap::diverging();

    ASSERT_EQ(layout.panels.size(), 2u);
    ASSERT_EQ(layout.panels[0].size(), 3u);
    for (const Rect& p : layout.panels[0]) {
        EXPECT_EQ(p.width, 128); // 16 px upscaled by 8
        EXPECT_EQ(p.height, 128);
    }
    auto left_px = [&](const Rect& p) { return img.rgb(p.x + p.width / 4, p.y + p.height / 2); };
    auto right_px = [&](const Rect& p) { return img.rgb(p.x + 3 * p.width / 4, p.y + p.height / 2); };
    // Exact panel edges: the first and last pixel of the image are field values.
    EXPECT_COLOR(img.rgb(layout.panels[0][0].x, layout.panels[0][0].y), seq.at(0));
    EXPECT_COLOR(img.rgb(layout.panels[0][0].x + 127, layout.panels[0][0].y + 127), seq.at(1));
    EXPECT_COLOR(left_px(layout.panels[0][0]), seq.at(0));
    EXPECT_COLOR(right_px(layout.panels[0][0]), seq.at(1));
    EXPECT_COLOR(left_px(layout.panels[0][1]), seq.at(1.0 / 3));
    EXPECT_COLOR(right_px(layout.panels[0][1]), seq.at(2.0 / 3));
    EXPECT_COLOR(left_px(layout.panels[0][2]), div.at(0));
    EXPECT_COLOR(right_px(layout.panels[0][2]), div.at(0.75));
    // Just outside a panel is background.
    EXPECT_EQ(img.rgb(layout.panels[0][0].x - 1, layout.panels[0][0].y + 5), 0xffffffu);

    // Row 0 has a sequential and a diverging bar, row 1 only a sequential one.
    ASSERT_EQ(layout.colorbars[0].size(), 2u);
    ASSERT_EQ(layout.colorbars[1].size(), 1u);
    EXPECT_DOUBLE_EQ(layout.ranges[0][0].lo, 0);
    EXPECT_DOUBLE_EQ(layout.ranges[0][0].hi, 3);
    EXPECT_DOUBLE_EQ(layout.ranges[0][1].lo, -2);
    EXPECT_DOUBLE_EQ(layout.ranges[0][1].hi, 2);
    for (size_t r = 0; r < 2; ++r) {
        for (size_t g = 0; g < layout.colorbars[r].size(); ++g) {
            const Rect& bar = layout.colorbars[r][g];
            const Colormap& map = (r == 0 && g == 1) ? div : seq;
            int cx = bar.x + bar.width / 2;
            EXPECT_COLOR(img.rgb(cx, bar.y), map.at(1));
            EXPECT_COLOR(img.rgb(cx, bar.y + bar.height - 1), map.at(0));
            EXPECT_LT(bar.x + bar.width, layout.width);
        }
    }
    // The non-square row-1 field keeps its aspect ratio: its long side 64 scaled by 2 reaches 128.
    EXPECT_EQ(layout.panels[1][0].width, 128);
    EXPECT_EQ(layout.panels[1][0].height, 64);
    EXPECT_COLOR(left_px(layout.panels[1][0]), seq.at(0));
    EXPECT_COLOR(right_px(layout.panels[1][0]), seq.at(1));
    // Atomic write: only the figure is in the folder.
    EXPECT_EQ(names_in(dir.path()), std::vector<std::string>{"panels.png"});
}

TEST(Panels, NanInfAndConstantFields) {
    lola::test::TempDir dir;
    Field2D f = halves(8, 8, -1, 1);
    f.values[0] = NAN;              // row 0, column 0
    f.values[8 * 8 - 1] = INFINITY; // row 7, column 7
    Field2D constant{8, 8, std::vector<float>(64, 2.5f)};
    PanelGrid grid;
    grid.range_mode = RangeMode::kPerPanel;
    grid.rows.push_back(
        {{"with NaN", f, ColormapKind::kSequential, std::nullopt},
         {"constant", constant, ColormapKind::kSequential, std::nullopt},
         {"zero error", Field2D{8, 8, std::vector<float>(64, 0.0f)}, ColormapKind::kDiverging, std::nullopt}});
    fs::path path = dir / "nan.png";
    PanelsLayout layout = write_panels(path, grid);
    Image img(path);
    ASSERT_TRUE(img.ok());
    const Rect& p = layout.panels[0][0];
    const int s = p.width / 8;
    EXPECT_EQ(s, 16);
    EXPECT_COLOR(img.rgb(p.x + s / 2, p.y + s / 2), nan_color());
    EXPECT_COLOR(img.rgb(p.x + p.width - 1, p.y + p.height - 1), nan_color());
    // The range comes from the finite values only.
    EXPECT_COLOR(img.rgb(p.x + s / 2, p.y + 3 * s), Colormap::sequential().at(0));
    EXPECT_COLOR(img.rgb(p.x + p.width - s / 2, p.y + 3 * s), Colormap::sequential().at(1));
    // A constant field is the middle colour; an all-zero error is the diverging map's white centre.
    const Rect& q = layout.panels[0][1];
    EXPECT_COLOR(img.rgb(q.x + q.width / 2, q.y + q.height / 2), Colormap::sequential().at(0.5));
    const Rect& e = layout.panels[0][2];
    EXPECT_COLOR(img.rgb(e.x + e.width / 2, e.y + e.height / 2), Colormap::diverging().at(0.5));
    // Per panel: one bar per panel, each with its own range.
    ASSERT_EQ(layout.colorbars[0].size(), 3u);
    EXPECT_DOUBLE_EQ(layout.ranges[0][0].lo, -1);
    EXPECT_DOUBLE_EQ(layout.ranges[0][0].hi, 1);
    EXPECT_LT(layout.ranges[0][1].lo, 2.5);
    EXPECT_GT(layout.ranges[0][1].hi, 2.5);
    for (size_t c = 0; c + 1 < 3; ++c) EXPECT_LT(layout.colorbars[0][c].x, layout.panels[0][c + 1].x);
}

TEST(Panels, FixedRangeOverridesData) {
    lola::test::TempDir dir;
    PanelGrid grid;
    grid.rows.push_back({{"", halves(16, 16, 0, 1), ColormapKind::kSequential, Range{0, 2}}});
    fs::path path = dir / "fixed.png";
    PanelsLayout layout = write_panels(path, grid);
    Image img(path);
    const Rect& p = layout.panels[0][0];
    EXPECT_COLOR(img.rgb(p.x + 3 * p.width / 4, p.y + 5), Colormap::sequential().at(0.5));
}

TEST(Panels, SvgKeepsTextAsText) {
    lola::test::TempDir dir;
    PanelGrid grid;
    grid.title = "Rayleigh <Benard> & co";
    grid.row_labels = {"buoyancy"};
    grid.column_titles = {"truth", "member 1"};
    grid.rows.push_back({{"", random_field(16, 16, 1), ColormapKind::kSequential, std::nullopt},
                         {"", random_field(16, 16, 2), ColormapKind::kSequential, std::nullopt}});
    fs::path path = dir / "panels.SVG";
    write_panels(path, grid);
    std::string svg = lola::core::read_file(path);
    EXPECT_EQ(svg.rfind("<?xml", 0), 0u);
    EXPECT_NE(svg.find("<svg"), std::string::npos);
    EXPECT_NE(svg.find("</svg>"), std::string::npos);
    EXPECT_NE(svg.find("Rayleigh &lt;Benard&gt; &amp; co"), std::string::npos);
    EXPECT_EQ(svg.find("<Benard>"), std::string::npos);
    for (const char* s : {">buoyancy<", ">truth<", ">member 1<", "<image"})
        EXPECT_NE(svg.find(s), std::string::npos) << s;
    size_t open = 0, close = 0;
    for (size_t k = svg.find("<text"); k != std::string::npos; k = svg.find("<text", k + 1)) ++open;
    for (size_t k = svg.find("</text>"); k != std::string::npos; k = svg.find("</text>", k + 1)) ++close;
    EXPECT_EQ(open, close);
    EXPECT_GE(open, 4u);
}

TEST(Panels, BadInputNamesThePath) {
    lola::test::TempDir dir;
    PanelGrid grid;
    grid.rows.push_back({{"", halves(4, 4, 0, 1), ColormapKind::kSequential, std::nullopt}});
    fs::path missing = dir / "no_such_folder" / "fig.png";
    EXPECT_NE(error_of([&] { write_panels(missing, grid); }).find(missing.string()), std::string::npos);
    fs::path jpg = dir / "fig.jpg";
    std::string msg = error_of([&] { write_panels(jpg, grid); });
    EXPECT_NE(msg.find(jpg.string()), std::string::npos) << msg;
    EXPECT_NE(msg.find(".png or .svg"), std::string::npos) << msg;
    PanelGrid broken = grid;
    broken.rows[0][0].field.values.pop_back();
    msg = error_of([&] { write_panels(dir / "broken.png", broken); });
    EXPECT_NE(msg.find("15 values"), std::string::npos) << msg;
    broken = grid;
    broken.row_labels = {"a", "b"};
    EXPECT_NE(error_of([&] { write_panels(dir / "labels.png", broken); }).find("2 row labels"), std::string::npos);
    // Failures leave nothing behind.
    EXPECT_TRUE(names_in(dir.path()).empty());
}

TEST(Panels, DifferenceAndFolderAsTarget) {
    lola::test::TempDir dir;
    Field2D a = halves(2, 4, 1, 5), b = halves(2, 4, 0.5f, 1);
    Field2D d = difference(a, b);
    ASSERT_EQ(d.values.size(), 8u);
    EXPECT_FLOAT_EQ(d.at(1, 0), 0.5f);
    EXPECT_FLOAT_EQ(d.at(1, 3), 4.0f);
    EXPECT_NE(error_of([&] { difference(a, halves(4, 2, 0, 1)); }).find("2x4 and 4x2"), std::string::npos);
    // A folder where the figure should go is refused, and nothing is left behind.
    fs::create_directory(dir / "taken.png");
    PanelGrid grid;
    grid.rows.push_back({{"", a, ColormapKind::kSequential, std::nullopt}});
    std::string msg = error_of([&] { write_panels(dir / "taken.png", grid); });
    EXPECT_NE(msg.find((dir / "taken.png").string()), std::string::npos) << msg;
    EXPECT_EQ(names_in(dir.path()), std::vector<std::string>{"taken.png"});
}

TEST(Panels, UnwritableFolderLeavesNoTemporary) {
    PanelGrid one;
    one.rows.push_back({{"", halves(4, 4, 0, 1), ColormapKind::kSequential, std::nullopt}});
    // /proc refuses new files even to root.
    for (const char* p : {"/proc/lola_figure_test.png", "/proc/lola_figure_test.svg"}) {
        std::string msg = error_of([&] { write_panels(p, one); });
        EXPECT_NE(msg.find(p), std::string::npos) << msg;
    }
    if (::geteuid() == 0) GTEST_SKIP() << "root ignores folder permissions";
    lola::test::TempDir dir;
    fs::create_directory(dir / "ro");
    fs::permissions(dir / "ro", fs::perms::owner_read | fs::perms::owner_exec);
    PanelGrid grid;
    grid.rows.push_back({{"", halves(4, 4, 0, 1), ColormapKind::kSequential, std::nullopt}});
    std::string msg = error_of([&] { write_panels(dir / "ro" / "fig.png", grid); });
    fs::permissions(dir / "ro", fs::perms::owner_all);
    EXPECT_NE(msg.find("fig.png"), std::string::npos) << msg;
    EXPECT_TRUE(names_in(dir / "ro").empty());
}

TEST(LinePlot, PngHasSeriesColoursInsideTheAxes) {
    lola::test::TempDir dir;
    LinePlot plot;
    plot.title = "VRMSE against lead time";
    plot.x_label = "lead time";
    plot.y_label = "VRMSE";
    plot.y_scale = AxisScale::kLog;
    Series a{"surrogate", {}, {}}, b{"diffusion", {}, {}};
    for (int k = 0; k <= 20; ++k) {
        a.x.push_back(k);
        a.y.push_back(0.01 * std::exp(0.2 * k));
        b.x.push_back(k);
        b.y.push_back(k == 0 ? 0.0 : 0.02 * std::exp(0.1 * k)); // y = 0 is skipped on the log axis
    }
    b.y[5] = NAN;
    plot.series = {a, b};
    fs::path path = dir / "metric.png";
    LinePlotLayout layout = write_line_plot(path, plot);
    Image img(path);
    ASSERT_TRUE(img.ok());
    EXPECT_EQ(img.width(), 720);
    EXPECT_EQ(img.height(), 480);
    EXPECT_NE(bytes_of(layout.colors[0]), bytes_of(layout.colors[1]));
    EXPECT_LE(layout.y_range.lo, 0.01);
    EXPECT_GE(layout.y_range.hi, 0.01 * std::exp(4.0));
    // Count pixels of each series colour inside the axes box.
    for (size_t s = 0; s < 2; ++s) {
        int count = 0;
        for (int y = layout.plot.y; y < layout.plot.y + layout.plot.height; ++y) {
            for (int x = layout.plot.x; x < layout.plot.x + layout.plot.width; ++x) {
                count += channel_diff(img.rgb(x, y), bytes_of(layout.colors[s])) <= 2;
            }
        }
        EXPECT_GT(count, 200) << plot.series[s].name;
    }
    EXPECT_EQ(names_in(dir.path()), std::vector<std::string>{"metric.png"});
}

TEST(LinePlot, SvgNamesSeriesAndTitle) {
    lola::test::TempDir dir;
    LinePlot plot;
    plot.title = "spread-skill";
    plot.x_label = "lead time";
    plot.y_label = "ratio";
    plot.series = {{"a<b & c", {0, 1, 2}, {1, 0.5, 0.25}}, {"member mean", {0, 1, 2}, {0.9, 0.6, 0.3}}};
    fs::path path = dir / "plot.svg";
    write_line_plot(path, plot);
    std::string svg = lola::core::read_file(path);
    EXPECT_EQ(svg.rfind("<?xml", 0), 0u);
    for (const char* s : {">spread-skill<", ">a&lt;b &amp; c<", ">member mean<", ">lead time<", ">ratio<"}) {
        EXPECT_NE(svg.find(s), std::string::npos) << s;
    }
    EXPECT_NE(svg.find("rotate(-90"), std::string::npos); // the y label
}

TEST(LinePlot, BadInput) {
    lola::test::TempDir dir;
    LinePlot plot;
    plot.series = {{"short", {0, 1, 2}, {1, 2}}};
    EXPECT_NE(error_of([&] { write_line_plot(dir / "p.png", plot); }).find("'short' has 3 x but 2 y"),
              std::string::npos);
    plot.series = {{"neg", {0, 1}, {-1, 0}}};
    plot.y_scale = AxisScale::kLog;
    EXPECT_NE(error_of([&] { write_line_plot(dir / "p.png", plot); }).find("y > 0"), std::string::npos);
    plot.y_scale = AxisScale::kLinear;
    fs::path bad = dir / "p.pdf";
    EXPECT_NE(error_of([&] { write_line_plot(bad, plot); }).find(bad.string()), std::string::npos);
    EXPECT_TRUE(names_in(dir.path()).empty());
}

namespace {

std::vector<PanelGrid> three_frames() {
    std::vector<PanelGrid> frames;
    for (int t = 0; t < 3; ++t) {
        PanelGrid g;
        g.title = "t = " + std::to_string(t);
        g.column_titles = {"truth", "prediction"};
        g.rows.push_back({{"", random_field(16, 16, 10 + t), ColormapKind::kSequential, Range{-3, 3}},
                          {"", random_field(16, 16, 20 + t), ColormapKind::kSequential, Range{-3, 3}}});
        frames.push_back(g);
    }
    return frames;
}

} // namespace

TEST(Animation, PngSequenceWithoutFfmpeg) {
    lola::test::TempDir dir;
    fs::create_directory(dir / "empty_bin");
    ScopedPath path((dir / "empty_bin").string());
    fs::path out_dir = dir / "anim";
    fs::create_directory(out_dir);
    std::ofstream(out_dir / "frame_0007.png") << "stale";
    std::ofstream(out_dir / "keep.txt") << "not a frame";
    AnimationOutput out = write_animation(out_dir, three_frames(), 4);
    EXPECT_EQ(out.frame_dir, out_dir);
    ASSERT_EQ(out.frames.size(), 3u);
    EXPECT_FALSE(out.video.has_value());
    EXPECT_NE(out.note.find("ffmpeg is not on PATH"), std::string::npos) << out.note;
    EXPECT_EQ(names_in(out_dir),
              (std::vector<std::string>{"frame_0000.png", "frame_0001.png", "frame_0002.png", "keep.txt"}));
    Image first(out.frames[0]), last(out.frames[2]);
    ASSERT_TRUE(first.ok() && last.ok());
    EXPECT_EQ(first.width(), last.width());
    EXPECT_EQ(first.height(), last.height());
}

TEST(Animation, CallsFfmpegWithoutAShell) {
    lola::test::TempDir dir;
    // A stand-in ffmpeg: records its arguments and writes its last argument (the output file).
    fs::path bin = dir / "bin with space";
    fs::create_directory(bin);
    fs::path args_file = dir / "args.txt";
    {
        std::ofstream script(bin / "ffmpeg");
        script << "#!/bin/sh\nfor a in \"$@\"; do echo \"$a\"; done > '" << args_file.string() << "'\n"
               << "for a in \"$@\"; do last=\"$a\"; done\necho video > \"$last\"\n";
    }
    fs::permissions(bin / "ffmpeg", fs::perms::owner_all);
    ScopedPath path(bin.string());
    fs::path target = dir / "my run" / "rollout.mp4";
    fs::create_directory(target.parent_path());
    AnimationOutput out = write_animation(target, three_frames(), 12.5);
    ASSERT_TRUE(out.video.has_value()) << out.note;
    EXPECT_EQ(*out.video, target);
    EXPECT_EQ(lola::core::read_file(target), "video\n");
    EXPECT_EQ(out.frame_dir, dir / "my run" / "rollout_frames");
    EXPECT_EQ(out.frames.size(), 3u);
    std::string args = lola::core::read_file(args_file);
    EXPECT_NE(args.find("-framerate\n12.5\n"), std::string::npos) << args;
    EXPECT_NE(args.find((out.frame_dir / "frame_%04d.png").string() + "\n"), std::string::npos) << args;
    Image first(out.frames[0]);
    int even_w = first.width() + first.width() % 2, even_h = first.height() + first.height() % 2;
    EXPECT_NE(args.find(fmt::format("pad={}:{}:0:0", even_w, even_h)), std::string::npos) << args;
    EXPECT_EQ(names_in(dir / "my run"), (std::vector<std::string>{"rollout.mp4", "rollout_frames"}));

    // A failing ffmpeg is reported, not thrown, and leaves no partial video.
    {
        std::ofstream script(bin / "ffmpeg");
        script << "#!/bin/sh\nexit 3\n";
    }
    fs::remove(target);
    out = write_animation(target, three_frames(), 12.5);
    EXPECT_FALSE(out.video.has_value());
    EXPECT_NE(out.note.find("exit status 3"), std::string::npos) << out.note;
    EXPECT_EQ(names_in(dir / "my run"), std::vector<std::string>{"rollout_frames"});
}

TEST(Animation, BadInput) {
    lola::test::TempDir dir;
    EXPECT_NE(error_of([&] { write_animation(dir / "a", {}, 4); }).find("no frames"), std::string::npos);
    EXPECT_NE(error_of([&] { write_animation(dir / "a", three_frames(), 0); }).find("fps"), std::string::npos);
    fs::path missing = dir / "nope" / "a";
    EXPECT_NE(error_of([&] { write_animation(missing, three_frames(), 4); }).find(missing.string()), std::string::npos);
}
