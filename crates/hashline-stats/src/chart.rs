//! Bar charts as SVG, drawn with plotters. Text is left to the viewer's fonts (Khmer
//! included); a withheld count (1 to 4) is drawn at 5 in a lighter shade.

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::model::{Count, SMALLEST_SHOWN};

/// One series of a grouped bar chart.
pub struct Series<'a> {
    /// Its name in the legend.
    pub name: &'a str,
    /// Its colour.
    pub color: RGBColor,
    /// One value per category.
    pub values: Vec<Count>,
}

/// Dark blue, orange, teal: distinguishable in print and for common colour blindness.
pub const COLORS: [RGBColor; 3] = [RGBColor(31, 78, 121), RGBColor(230, 126, 34), RGBColor(22, 160, 133)];

/// A grouped bar chart of `series` over `categories`, `width` × `height` pixels, as SVG.
pub fn bars(title: &str, categories: &[String], series: &[Series<'_>], width: u32, height: u32) -> String {
    let mut svg = String::new();
    // Drawing into a string cannot fail for I/O; a plotting error leaves the chart out.
    let _ = draw(&mut svg, title, categories, series, (width, height));
    svg
}

fn draw(
    svg: &mut String,
    title: &str,
    categories: &[String],
    series: &[Series<'_>],
    size: (u32, u32),
) -> Result<(), Box<dyn std::error::Error>> {
    let shown = |c: Count| if c.suppressed() { SMALLEST_SHOWN } else { c.0 };
    let top =
        series.iter().flat_map(|s| s.values.iter().map(|&c| shown(c))).max().unwrap_or(0).max(SMALLEST_SHOWN);
    let root = SVGBackend::with_string(svg, size).into_drawing_area();
    root.fill(&WHITE)?;
    let n = categories.len().max(1) as f64;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 18))
        .margin(10)
        .x_label_area_size(40)
        .y_label_area_size(50)
        // Headroom above the tallest bar for the legend (its width is only estimated: the
        // viewer's fonts draw the text).
        .build_cartesian_2d(0f64..n, 0f64..(top as f64) * if series.len() > 1 { 1.45 } else { 1.1 })?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(0)
        .y_labels(6)
        .y_label_formatter(&|v| format!("{v:.0}"))
        .label_style(("sans-serif", 12))
        .draw()?;
    // Category names under the middle of their group of bars (at most 14, evenly spread).
    let every = categories.len().div_ceil(14).max(1);
    for (i, name) in categories.iter().enumerate().filter(|(i, _)| i % every == 0) {
        let (x, y) = chart.backend_coord(&(i as f64 + 0.5, 0.0));
        let style = TextStyle::from(("sans-serif", 11).into_font()).pos(Pos::new(HPos::Center, VPos::Top));
        root.draw(&Text::new(name.clone(), (x, y + 6), style))?;
    }
    let groups = series.len().max(1) as f64;
    for (k, s) in series.iter().enumerate() {
        let color = s.color;
        let light = color.mix(0.35);
        let rects: Vec<_> = s
            .values
            .iter()
            .enumerate()
            .map(|(i, &c)| {
                // Each category's unit holds the series side by side, with a margin.
                let x0 = i as f64 + 0.1 + 0.8 * k as f64 / groups;
                let x1 = i as f64 + 0.1 + 0.8 * (k + 1) as f64 / groups;
                let style = if c.suppressed() { light.filled() } else { color.filled() };
                Rectangle::new([(x0, 0.0), (x1, shown(c) as f64)], style)
            })
            .collect();
        chart
            .draw_series(rects)?
            .label(s.name)
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 10, y + 5)], color.filled()));
    }
    if series.len() > 1 {
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .label_font(("sans-serif", 12))
            .draw()?;
    }
    root.present()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chart_is_svg_with_its_title_categories_and_a_lighter_withheld_bar() {
        let svg = bars(
            "Reports per week",
            &["2026-11-02".into(), "2026-11-09".into()],
            &[Series { name: "Reports", color: COLORS[0], values: vec![Count(12), Count(3)] }],
            600,
            300,
        );
        assert!(svg.starts_with("<svg"), "{svg}");
        assert!(svg.contains("Reports per week") && svg.contains("2026-11-09"));
        assert!(svg.contains("opacity=\"0.35\""), "the withheld bar is lighter: {svg}");
        assert!(!svg.contains(">3<"), "the withheld figure is not written");
    }
}
