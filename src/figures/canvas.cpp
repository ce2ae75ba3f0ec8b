#include "canvas.h"

#include <cairo-svg.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <memory>

#include "lola/core/error.h"
#include "lola/core/fs.h"

namespace lola::figures::detail {

namespace fs = std::filesystem;

namespace {

constexpr const char* kFontFamily = "DejaVu Sans";

std::string xml_escape(const std::string& s) {
    std::string out;
    out.reserve(s.size());
    for (char ch : s) {
        switch (ch) {
            case '&':
                out += "&amp;";
                break;
            case '<':
                out += "&lt;";
                break;
            case '>':
                out += "&gt;";
                break;
            case '"':
                out += "&quot;";
                break;
            case '\'':
                out += "&apos;";
                break;
            default:
                // Control characters are not allowed in XML 1.0 text.
                if (static_cast<unsigned char>(ch) >= 0x20 || ch == '\t' || ch == '\n') out += ch;
        }
    }
    return out;
}

void select_font(cairo_t* cr, double size, bool bold) {
    cairo_select_font_face(cr, kFontFamily, CAIRO_FONT_SLANT_NORMAL,
                           bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(cr, size);
}

struct SurfaceDeleter {
    void operator()(cairo_surface_t* s) const { cairo_surface_destroy(s); }
};
struct ContextDeleter {
    void operator()(cairo_t* c) const { cairo_destroy(c); }
};

} // namespace

Format output_format(const fs::path& path) {
    std::string ext = path.extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
    Format format = Format::kPng;
    if (ext == ".png") {
        format = Format::kPng;
    } else if (ext == ".svg") {
        format = Format::kSvg;
    } else {
        LOLA_THROW("cannot write figure '{}': unknown extension '{}' (use .png or .svg)", path.string(), ext);
    }
    fs::path parent = path.parent_path();
    LOLA_CHECK(parent.empty() || fs::is_directory(parent),
               "cannot write figure '{}': folder '{}' does not exist (create it first)", path.string(),
               parent.string());
    LOLA_CHECK(!fs::is_directory(path), "cannot write figure '{}': it is a folder", path.string());
    return format;
}

void Canvas::set_color(const Rgb& c, double alpha) const { cairo_set_source_rgba(cr_, c.r, c.g, c.b, alpha); }

void Canvas::fill_rect(double x, double y, double w, double h, const Rgb& c) const {
    set_color(c);
    cairo_rectangle(cr_, x, y, w, h);
    cairo_fill(cr_);
}

void Canvas::stroke_rect(double x, double y, double w, double h, const Rgb& c, double line_width) const {
    set_color(c);
    cairo_set_line_width(cr_, line_width);
    cairo_rectangle(cr_, x, y, w, h);
    cairo_stroke(cr_);
}

void Canvas::line(double x0, double y0, double x1, double y1, const Rgb& c, double line_width) const {
    set_color(c);
    cairo_set_line_width(cr_, line_width);
    cairo_move_to(cr_, x0, y0);
    cairo_line_to(cr_, x1, y1);
    cairo_stroke(cr_);
}

double Canvas::text_width(const std::string& s, double size, bool bold) {
    static thread_local std::unique_ptr<cairo_surface_t, SurfaceDeleter> surface(
        cairo_image_surface_create(CAIRO_FORMAT_ARGB32, 1, 1));
    static thread_local std::unique_ptr<cairo_t, ContextDeleter> cr(cairo_create(surface.get()));
    select_font(cr.get(), size, bold);
    cairo_text_extents_t ext;
    cairo_text_extents(cr.get(), s.c_str(), &ext);
    return ext.x_advance;
}

void Canvas::text(double x, double y, const std::string& s, double size, Align align, bool bold, bool vertical) {
    if (s.empty()) return;
    // Baseline a little below the centre line: DejaVu's cap height is about 0.73 em.
    double baseline_offset = 0.36 * size;
    if (format_ == Format::kSvg) {
        const char* anchor = align == Align::kLeft ? "start" : align == Align::kCenter ? "middle" : "end";
        double bx = vertical ? x + baseline_offset : x, by = vertical ? y : y + baseline_offset;
        std::string transform = vertical ? fmt::format(" transform=\"rotate(-90 {:.2f} {:.2f})\"", bx, by) : "";
        svg_text_.push_back(
            fmt::format("<text x=\"{:.2f}\" y=\"{:.2f}\" font-size=\"{:.1f}\" text-anchor=\"{}\"{}{}>"
                        "{}</text>",
                        bx, by, size, anchor, bold ? " font-weight=\"bold\"" : "", transform, xml_escape(s)));
        return;
    }
    double w = text_width(s, size, bold);
    double shift = align == Align::kLeft ? 0 : align == Align::kCenter ? -w / 2 : -w;
    select_font(cr_, size, bold);
    cairo_set_source_rgb(cr_, 0, 0, 0);
    cairo_save(cr_);
    if (vertical) {
        cairo_translate(cr_, x + baseline_offset, y);
        cairo_rotate(cr_, -M_PI / 2);
        cairo_move_to(cr_, shift, 0);
    } else {
        cairo_move_to(cr_, x + shift, y + baseline_offset);
    }
    cairo_show_text(cr_, s.c_str());
    cairo_restore(cr_);
}

std::string Canvas::svg_text() const {
    if (svg_text_.empty()) return {};
    std::string out = fmt::format("<g font-family=\"{}, sans-serif\" fill=\"black\">\n", kFontFamily);
    for (const auto& t : svg_text_) out += t + "\n";
    return out + "</g>\n";
}

void render_to_file(const fs::path& path, Format format, int width, int height,
                    const std::function<void(Canvas&)>& draw) {
    LOLA_CHECK(width > 0 && height > 0 && width <= 32767 && height <= 32767,
               "cannot write figure '{}': size {}x{} is outside 1..32767 pixels (fewer or smaller panels)",
               path.string(), width, height);
    fs::path tmp = core::temp_path_for(path);
    struct TmpGuard {
        fs::path p;
        bool keep = false;
        ~TmpGuard() {
            std::error_code ec;
            if (!keep) fs::remove(p, ec);
        }
    } guard{tmp};

    std::unique_ptr<cairo_surface_t, SurfaceDeleter> surface(
        format == Format::kPng ? cairo_image_surface_create(CAIRO_FORMAT_ARGB32, width, height)
                               : cairo_svg_surface_create(tmp.c_str(), width, height));
    LOLA_CHECK(cairo_surface_status(surface.get()) == CAIRO_STATUS_SUCCESS, "cannot write figure '{}': {}",
               path.string(), cairo_status_to_string(cairo_surface_status(surface.get())));
    std::string svg_text;
    {
        std::unique_ptr<cairo_t, ContextDeleter> cr(cairo_create(surface.get()));
        cairo_set_source_rgb(cr.get(), 1, 1, 1);
        cairo_paint(cr.get());
        Canvas canvas(cr.get(), format);
        draw(canvas);
        LOLA_CHECK(cairo_status(cr.get()) == CAIRO_STATUS_SUCCESS, "drawing figure '{}' failed: {}", path.string(),
                   cairo_status_to_string(cairo_status(cr.get())));
        svg_text = canvas.svg_text();
    }
    cairo_status_t status = CAIRO_STATUS_SUCCESS;
    if (format == Format::kPng) {
        status = cairo_surface_write_to_png(surface.get(), tmp.c_str());
    } else {
        cairo_surface_finish(surface.get());
        status = cairo_surface_status(surface.get());
    }
    LOLA_CHECK(status == CAIRO_STATUS_SUCCESS, "cannot write figure '{}': {} (is the folder writable?)", path.string(),
               cairo_status_to_string(status));
    surface.reset();
    if (format == Format::kSvg && !svg_text.empty()) {
        std::string doc = core::read_file(tmp);
        size_t end = doc.rfind("</svg>");
        LOLA_CHECK(end != std::string::npos, "cannot write figure '{}': cairo wrote no closing </svg>", path.string());
        doc.insert(end, svg_text);
        core::write_file_atomic(tmp, doc);
    }
    std::error_code ec;
    fs::rename(tmp, path, ec);
    LOLA_CHECK(!ec, "cannot rename temporary file onto '{}': {}", path.string(), ec.message());
    guard.keep = true;
}

uint32_t pack_pixel(const Rgb& c) {
    auto byte = [](double v) { return static_cast<uint32_t>(std::lround(std::clamp(v, 0.0, 1.0) * 255)); };
    return 0xff000000u | (byte(c.r) << 16) | (byte(c.g) << 8) | byte(c.b);
}

std::vector<double> linear_ticks(double lo, double hi, int target) {
    std::vector<double> ticks;
    if (!(hi > lo) || !std::isfinite(lo) || !std::isfinite(hi)) return ticks;
    double raw = (hi - lo) / std::max(target, 1);
    double mag = std::pow(10.0, std::floor(std::log10(raw)));
    double norm = raw / mag;
    double step = (norm < 1.5 ? 1 : norm < 3 ? 2 : norm < 7 ? 5 : 10) * mag;
    double first = std::ceil(lo / step - 1e-9);
    for (double k = first;; k += 1) {
        double v = k * step;
        if (v > hi + step * 1e-9) break;
        ticks.push_back(std::abs(v) < step * 1e-9 ? 0.0 : v);
    }
    return ticks;
}

std::vector<double> log_ticks(double lo, double hi) {
    std::vector<double> ticks;
    if (!(lo > 0) || !(hi > lo) || !std::isfinite(hi)) return ticks;
    int d0 = static_cast<int>(std::floor(std::log10(lo))), d1 = static_cast<int>(std::ceil(std::log10(hi)));
    double span = std::log10(hi / lo); // decades actually shown
    std::vector<double> mults = span <= 2.2 ? std::vector<double>{1, 2, 5}
                                : span <= 4 ? std::vector<double>{1, 3}
                                            : std::vector<double>{1};
    int every = std::max(1, (d1 - d0) / 8); // at most ~8 decade labels
    for (int d = d0; d <= d1; ++d) {
        if ((d - d0) % every != 0) continue;
        for (double m : mults) {
            double v = m * std::pow(10.0, d);
            if (v >= lo * (1 - 1e-9) && v <= hi * (1 + 1e-9)) ticks.push_back(v);
        }
    }
    return ticks;
}

std::string tick_label(double v, double step) {
    if (v == 0) return "0";
    if (step > 0) {
        int decimals = std::max(0, -static_cast<int>(std::floor(std::log10(step) + 1e-9)));
        if (std::abs(v) < 1e5 && decimals <= 4) return fmt::format("{:.{}f}", v, decimals);
    }
    return fmt::format("{:.3g}", v);
}

} // namespace lola::figures::detail
