// SPDX-License-Identifier: MIT
// svg.cpp - --svg: median spawn+reap latency against the caller's size, log scale, one line per method.
//
// Two panels side by side: x = the caller's resident memory (the --rss points, other axes at 0) and
// x = its open fds (the --fds points). x is categorical (evenly spaced: 0, 1 GiB, 4 GiB), y is log10
// with a labelled tick at every 1, 2 and 5. Plotted: the static target if it was run (the spawn, not
// the program), else the dynamic one. Hand-written SVG, no dependency.
#include <algorithm>
#include <cmath>
#include <functional>
#include <map>

#include "report.hpp"

namespace ep::bench {
namespace {

constexpr const char *kColours[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd",
                                    "#8c564b", "#e377c2", "#17becf", "#7f7f7f", "#bcbd22"};
constexpr double kPanelW = 480, kPanelH = 340, kLeft = 80, kTop = 70, kGap = 110;

std::string fmt(double v, const char *format = "%.1f") {
    char buf[64];
    std::snprintf(buf, sizeof buf, format, v);
    return buf;
}

std::string xml_escape(const std::string &s) {
    std::string out;
    for (char c : s)
        out += c == '&' ? "&amp;" : c == '<' ? "&lt;" : c == '>' ? "&gt;" : c == '"' ? "&quot;" : std::string(1, c);
    return out;
}

std::string size_label(double mib) {
    if (mib == 0)
        return "0";
    return mib >= 1024 ? fmt(mib / 1024, "%g") + " GiB" : fmt(mib, "%g") + " MiB";
}

std::string count_label(double n) {
    return n >= 1000 ? fmt(n / 1000, "%g") + "k" : fmt(n, "%g");
}

std::string us_label(double us) {
    return us >= 1000 ? fmt(us / 1000, "%g") + " ms" : fmt(us, "%g") + " µs";
}

struct Panel {
    std::string title, x_title;
    std::function<bool(const Point &)> on_axis; // the points this panel shows
    std::function<double(const Point &)> x_of;
    std::function<std::string(double)> x_label;
};

struct Series {
    std::string label;
    std::map<double, double> median_by_x;
};

std::vector<Series> series_for(const std::vector<Row> &rows, const std::string &target, const Panel &panel,
                               std::vector<double> &xs) {
    std::vector<Series> series;
    for (const Row &r : rows) {
        if (r.target != target || r.reap.n == 0 || !panel.on_axis(r.point))
            continue;
        double x = panel.x_of(r.point);
        if (std::find(xs.begin(), xs.end(), x) == xs.end())
            xs.push_back(x);
        auto it =
            std::find_if(series.begin(), series.end(), [&](const Series &s) { return s.label == r.method.label(); });
        if (it == series.end())
            it = series.insert(series.end(), Series{r.method.label(), {}});
        it->median_by_x[x] = r.reap.median;
    }
    std::sort(xs.begin(), xs.end());
    return series;
}

void draw_panel(std::string &svg, const Panel &panel, double x0, const std::vector<Series> &series,
                const std::vector<double> &xs, double lo_decade, double hi_decade,
                const std::map<std::string, std::string> &colour) {
    auto y_of = [&](double us) {
        return kTop + kPanelH - (std::log10(us) - lo_decade) / (hi_decade - lo_decade) * kPanelH;
    };
    auto x_pos = [&](double x) {
        size_t i = size_t(std::find(xs.begin(), xs.end(), x) - xs.begin());
        return xs.size() == 1 ? x0 + kPanelW / 2 : x0 + 30 + double(i) * (kPanelW - 60) / double(xs.size() - 1);
    };
    svg += "<g>\n<text x=\"" + fmt(x0 + kPanelW / 2) + "\" y=\"" + fmt(kTop - 12) +
           "\" text-anchor=\"middle\" font-weight=\"bold\">" + xml_escape(panel.title) + "</text>\n";
    svg += "<rect x=\"" + fmt(x0) + "\" y=\"" + fmt(kTop) + "\" width=\"" + fmt(kPanelW) + "\" height=\"" +
           fmt(kPanelH) + "\" fill=\"none\" stroke=\"#333\"/>\n";
    for (double d = lo_decade; d <= hi_decade; d++)
        for (double m : {1.0, 2.0, 5.0}) {
            double us = m * std::pow(10.0, d), y = y_of(us);
            if (y < kTop - 0.5)
                continue;
            svg += "<line x1=\"" + fmt(x0) + "\" x2=\"" + fmt(x0 + kPanelW) + "\" y1=\"" + fmt(y) + "\" y2=\"" +
                   fmt(y) + "\" stroke=\"" + (m == 1 ? "#bbb" : "#e5e5e5") + "\"/>\n";
            svg += "<text x=\"" + fmt(x0 - 6) + "\" y=\"" + fmt(y + 4) + "\" text-anchor=\"end\" font-size=\"" +
                   (m == 1 ? "12" : "10") + "\">" + xml_escape(us_label(us)) + "</text>\n";
        }
    for (double x : xs)
        svg += "<text x=\"" + fmt(x_pos(x)) + "\" y=\"" + fmt(kTop + kPanelH + 18) + "\" text-anchor=\"middle\">" +
               xml_escape(panel.x_label(x)) + "</text>\n";
    svg += "<text x=\"" + fmt(x0 + kPanelW / 2) + "\" y=\"" + fmt(kTop + kPanelH + 42) + "\" text-anchor=\"middle\">" +
           xml_escape(panel.x_title) + "</text>\n";
    svg += "<text transform=\"translate(" + fmt(x0 - 62) + "," + fmt(kTop + kPanelH / 2) +
           ") rotate(-90)\" text-anchor=\"middle\">median spawn + reap (log scale)</text>\n";
    for (const Series &s : series) {
        std::string points, dots;
        for (const auto &[x, us] : s.median_by_x) {
            points += fmt(x_pos(x)) + "," + fmt(y_of(us)) + " ";
            dots += "<circle cx=\"" + fmt(x_pos(x)) + "\" cy=\"" + fmt(y_of(us)) + "\" r=\"3.5\" fill=\"" +
                    colour.at(s.label) + "\"><title>" + xml_escape(s.label + ": " + us_label(us)) +
                    "</title></circle>\n";
        }
        svg += "<polyline fill=\"none\" stroke-width=\"2\" stroke=\"" + colour.at(s.label) + "\" points=\"" + points +
               "\"><title>" + xml_escape(s.label) + "</title></polyline>\n" + dots;
    }
    svg += "</g>\n";
}

} // namespace

bool write_svg(const std::string &path, const std::vector<Row> &rows, const std::string &subtitle, std::string &error) {
    std::string target = "dynamic";
    for (const Row &r : rows)
        if (r.target == "static" && r.reap.n > 0)
            target = "static";
    const Panel panels[] = {
        {"latency against the caller's resident memory", "caller resident size (open fds 0, ops 0)",
         [](const Point &p) { return p.fds == 0 && p.ops == 0; }, [](const Point &p) { return double(p.rss_mb); },
         size_label},
        {"latency against the caller's open descriptors", "caller open fds, not CLOEXEC (rss 0, ops 0)",
         [](const Point &p) { return p.rss_mb == 0 && p.ops == 0; }, [](const Point &p) { return double(p.fds); },
         count_label},
    };
    std::vector<double> xs[2];
    std::vector<Series> series[2];
    double lo = INFINITY, hi = -INFINITY;
    std::map<std::string, std::string> colour;
    std::vector<std::string> legend;
    for (int i = 0; i < 2; i++) {
        series[i] = series_for(rows, target, panels[i], xs[i]);
        for (const Series &s : series[i]) {
            if (!colour.count(s.label)) {
                colour[s.label] = kColours[legend.size() % std::size(kColours)];
                legend.push_back(s.label);
            }
            for (const auto &[x, us] : s.median_by_x) {
                lo = std::min(lo, std::floor(std::log10(us)));
                hi = std::max(hi, std::ceil(std::log10(us)));
            }
        }
    }
    if (legend.empty()) {
        lo = 0;
        hi = 1;
    }
    if (hi <= lo)
        hi = lo + 1;
    const double width = kLeft + 2 * kPanelW + kGap + 30;
    const double legend_top = kTop + kPanelH + 70, height = legend_top + 22 * double(legend.size()) + 20;
    std::string svg = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" +
                      fmt(width, "%.0f") + "\" height=\"" + fmt(height, "%.0f") + "\" viewBox=\"0 0 " +
                      fmt(width, "%.0f") + " " + fmt(height, "%.0f") +
                      "\" font-family=\"sans-serif\" font-size=\"13\">\n<rect width=\"100%\" height=\"100%\" "
                      "fill=\"white\"/>\n";
    svg += "<text x=\"" + fmt(width / 2) + "\" y=\"24\" text-anchor=\"middle\" font-size=\"17\" font-weight=\"bold\">" +
           xml_escape("emptyproc bench: spawn + reap latency, " + target + " target") + "</text>\n";
    svg += "<text x=\"" + fmt(width / 2) + "\" y=\"44\" text-anchor=\"middle\" fill=\"#555\">" + xml_escape(subtitle) +
           "</text>\n";
    for (int i = 0; i < 2; i++)
        draw_panel(svg, panels[i], kLeft + double(i) * (kPanelW + kGap), series[i], xs[i], lo, hi, colour);
    for (size_t i = 0; i < legend.size(); i++) {
        double y = legend_top + 22 * double(i);
        svg += "<line x1=\"" + fmt(kLeft) + "\" x2=\"" + fmt(kLeft + 30) + "\" y1=\"" + fmt(y) + "\" y2=\"" + fmt(y) +
               "\" stroke-width=\"3\" stroke=\"" + colour[legend[i]] + "\"/>\n<text x=\"" + fmt(kLeft + 38) +
               "\" y=\"" + fmt(y + 4) + "\">" + xml_escape(legend[i]) + "</text>\n";
    }
    svg += "</svg>\n";
    return write_text_file(path, svg, error);
}

} // namespace ep::bench
