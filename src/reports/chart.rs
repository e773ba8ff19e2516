//! The monthly chart (PNG): cases received per week, stacked by service, beside the time to
//! complete per service (median and 90th percentile, working days).
//!
//! Drawn with plotters into an RGB buffer and encoded with `png`. Text uses DejaVu Sans
//! compiled into the binary (`assets/fonts/`, Bitstream Vera licence, see the file beside it)
//! through plotters' `ab_glyph` renderer, so the chart needs no system fonts.

use super::monthly::MonthlyReport;
use super::{ReportError, Result, percentile};
use crate::cases::Service;
use plotters::coord::ranged1d::SegmentValue;
use plotters::prelude::*;
use std::sync::OnceLock;

/// The chart's size in pixels.
pub const WIDTH: u32 = 1200;
pub const HEIGHT: u32 = 600;

const FONT: &str = "sans-serif";
static FONT_BYTES: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");

/// One colour per service, readable when printed in grey too.
fn colour(s: Service) -> RGBColor {
    match s {
        Service::Rek => RGBColor(31, 119, 180),
        Service::Prd => RGBColor(255, 127, 14),
        Service::Adu => RGBColor(44, 160, 44),
    }
}

fn register_font() -> Result<()> {
    static DONE: OnceLock<bool> = OnceLock::new();
    let ok = *DONE.get_or_init(|| {
        plotters::style::register_font(FONT, FontStyle::Normal, FONT_BYTES).is_ok()
    });
    if ok {
        Ok(())
    } else {
        Err(ReportError::Write("the chart font cannot be read".into()))
    }
}

fn draw_err<E: std::fmt::Display>(e: E) -> ReportError {
    ReportError::Write(format!("chart: {e}"))
}

/// Renders the report's chart as PNG bytes of [`WIDTH`] × [`HEIGHT`].
pub fn render(report: &MonthlyReport) -> Result<Vec<u8>> {
    register_font()?;
    let mut rgb = vec![0u8; (WIDTH * HEIGHT * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE).map_err(draw_err)?;
        let root = root
            .titled(
                &report
                    .words
                    .fill("report_chart_title", &[("month", report.period.label())]),
                (FONT, 26),
            )
            .map_err(draw_err)?;
        let (left, right) = root.split_horizontally(WIDTH * 11 / 20);
        weekly(report, &left)?;
        completion(report, &right)?;
        root.present().map_err(draw_err)?;
    }
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, WIDTH, HEIGHT);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        let mut w = enc.write_header().map_err(draw_err)?;
        w.write_image_data(&rgb).map_err(draw_err)?;
    }
    Ok(out)
}

/// Cases received per week, one stacked bar per week.
fn weekly<DB: DrawingBackend>(
    report: &MonthlyReport,
    area: &DrawingArea<DB, plotters::coord::Shift>,
) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let weeks = &report.weeks;
    // A segmented range a..b has the segments a..=b: one per week.
    let n = weeks.len().max(1) as u32;
    let top = weeks
        .iter()
        .map(|w| w.2.values().sum::<usize>())
        .max()
        .unwrap_or(0)
        .max(1) as u32;
    let top = top + top.div_ceil(5);
    let w = &report.words;
    let mut chart = frame(area, &w.get("report_weeks_title"))
        .build_cartesian_2d((0u32..n - 1).into_segmented(), 0u32..top)
        .map_err(draw_err)?;
    let labels: Vec<String> = weeks
        .iter()
        .map(|(a, b, _)| format!("{}–{}", a.format("%d/%m"), b.format("%d/%m")))
        .collect();
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(weeks.len().max(1))
        .x_label_formatter(&|v| match v {
            SegmentValue::CenterOf(i) => labels.get(*i as usize).cloned().unwrap_or_default(),
            _ => String::new(),
        })
        .y_desc(w.get("report_chart_cases"))
        .label_style((FONT, 13))
        .axis_desc_style((FONT, 14))
        .draw()
        .map_err(draw_err)?;
    for s in Service::ALL {
        let bars: Vec<Rectangle<(SegmentValue<u32>, u32)>> = weeks
            .iter()
            .enumerate()
            .filter_map(|(i, (_, _, counts))| {
                let below: usize = Service::ALL
                    .iter()
                    .take_while(|x| **x != s)
                    .map(|x| counts.get(x).copied().unwrap_or(0))
                    .sum();
                let mine = counts.get(&s).copied().unwrap_or(0);
                (mine > 0).then(|| {
                    let mut r = Rectangle::new(
                        [
                            (SegmentValue::Exact(i as u32), below as u32),
                            (SegmentValue::Exact(i as u32 + 1), (below + mine) as u32),
                        ],
                        colour(s).filled(),
                    );
                    r.set_margin(0, 0, 12, 12);
                    r
                })
            })
            .collect();
        let c = colour(s);
        chart
            .draw_series(bars)
            .map_err(draw_err)?
            .label(s.prefix())
            .legend(swatch(c.filled()));
    }
    legend(&mut chart, SeriesLabelPosition::UpperLeft)
}

/// One half of the chart: its caption and the room for the axes' labels.
fn frame<'a, 'b, DB: DrawingBackend>(
    area: &'a DrawingArea<DB, plotters::coord::Shift>,
    caption: &str,
) -> ChartBuilder<'a, 'b, DB> {
    let mut b = ChartBuilder::on(area);
    b.caption(caption, (FONT, 18))
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(50);
    b
}

/// A legend entry's mark: a small square in `style`.
fn swatch(style: impl Into<ShapeStyle>) -> impl Fn((i32, i32)) -> Rectangle<(i32, i32)> {
    let style = style.into();
    move |(x, y)| Rectangle::new([(x, y - 6), (x + 12, y + 6)], style)
}

/// Draws the legend of the labelled series at `position`.
fn legend<'a, DB: DrawingBackend + 'a, CT: CoordTranslate>(
    chart: &mut ChartContext<'a, DB, CT>,
    position: SeriesLabelPosition,
) -> Result<()>
where
    DB::ErrorType: 'static,
{
    chart
        .configure_series_labels()
        .position(position)
        .label_font((FONT, 14))
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .draw()
        .map_err(draw_err)
}

/// Median time to complete per service (bar) with its 90th percentile (outline).
fn completion<DB: DrawingBackend>(
    report: &MonthlyReport,
    area: &DrawingArea<DB, plotters::coord::Shift>,
) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let stats: Vec<(Service, Option<f64>, Option<f64>, usize)> = Service::ALL
        .iter()
        .map(|s| {
            let c = report.completion.get(s);
            let v = c.map(|c| c.working_days.as_slice()).unwrap_or(&[]);
            (*s, percentile(v, 50), percentile(v, 90), v.len())
        })
        .collect();
    let top = stats
        .iter()
        .filter_map(|(_, _, p90, _)| *p90)
        .fold(1.0f64, f64::max);
    let top = (top * 1.2).ceil();
    let w = &report.words;
    let mut chart = frame(area, &w.get("report_chart_completion"))
        .build_cartesian_2d((0u32..2).into_segmented(), 0f64..top)
        .map_err(draw_err)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .light_line_style(WHITE)
        .x_labels(3)
        .x_label_formatter(&|v| match v {
            SegmentValue::CenterOf(i) => stats
                .get(*i as usize)
                .map(|(s, _, _, n)| format!("{} (n={n})", s.prefix()))
                .unwrap_or_default(),
            _ => String::new(),
        })
        .y_desc(w.get("report_unit_working_days"))
        .label_style((FONT, 13))
        .axis_desc_style((FONT, 14))
        .draw()
        .map_err(draw_err)?;
    for (i, (s, median, p90, _)) in stats.iter().enumerate() {
        let i = i as u32;
        if let Some(m) = median {
            let mut r = Rectangle::new(
                [
                    (SegmentValue::Exact(i), 0.0),
                    (SegmentValue::Exact(i + 1), *m),
                ],
                colour(*s).filled(),
            );
            r.set_margin(0, 0, 45, 45);
            chart.draw_series(std::iter::once(r)).map_err(draw_err)?;
        }
        if let Some(p) = p90 {
            let mut r = Rectangle::new(
                [
                    (SegmentValue::Exact(i), 0.0),
                    (SegmentValue::Exact(i + 1), *p),
                ],
                BLACK.stroke_width(2),
            );
            r.set_margin(0, 0, 38, 38);
            chart.draw_series(std::iter::once(r)).map_err(draw_err)?;
        }
    }
    // A legend of the two marks, drawn as empty series.
    chart
        .draw_series(std::iter::empty::<Rectangle<(SegmentValue<u32>, f64)>>())
        .map_err(draw_err)?
        .label(w.get("report_chart_median"))
        .legend(swatch(RGBColor(120, 120, 120).filled()));
    chart
        .draw_series(std::iter::empty::<Rectangle<(SegmentValue<u32>, f64)>>())
        .map_err(draw_err)?
        .label(w.get("report_chart_p90"))
        .legend(swatch(BLACK.stroke_width(2)));
    legend(&mut chart, SeriesLabelPosition::UpperRight)
}
