//! `netstack plot FILE -o OUT.svg`: one connection of a `--tcp-log` file as a chart.
//!
//! - `--kind cwnd` (the default): cwnd, ssthresh and the bytes in flight (sent, not
//!   acknowledged, not SACKed) over time, as steps, on a scale set by cwnd (what
//!   rises above 1.3 times its largest value is cut off); every retransmitted segment a red cross (at the flight it left into), every
//!   retransmission timeout a black circle. Slow start is the steep climb, a loss the
//!   drop, congestion avoidance the slow climb after it.
//! - `--kind seq`: a time-sequence plot in tcptrace's style: each segment sent is a
//!   vertical bar from its first to its last sequence number (blue, red when it is a
//!   retransmission; a SYN or FIN, one sequence number, is a ring), the ACKs received are the green step
//!   line (SND.UNA), and the yellow line is the right edge of the peer's window
//!   (SND.UNA + SND.WND), cut off where it rises 20% above the data. Sequence numbers
//!   count from the connection's first.
//!
//! The connection is the one `--conn` names (any part of `local>remote`, as the log
//! writes it), or else the one that sent the most data.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use serde_json::Value;

use crate::cli::{PlotArgs, PlotKind};
use crate::error::CliError;

/// One line of the log, with the fields the plots use.
#[derive(Clone, Debug, Default)]
struct Row {
    t: f64,
    event: String,
    cwnd: f64,
    ssthresh: Option<f64>,
    in_flight: f64,
    retransmit: bool,
    snd_una: u32,
    peer_window: f64,
    /// For `sent`: the segment's first sequence number and data length.
    seq: Option<(u32, u32)>,
    /// For `sent`: the segment carries a SYN or a FIN, which take a sequence number.
    syn_or_fin: bool,
}

/// Runs the command.
pub fn run(args: &PlotArgs) -> Result<u8, CliError> {
    let text = fs::read_to_string(&args.file)
        .map_err(|e| CliError::failure(format!("cannot read {}: {e}", args.file.display())))?;
    let by_conn = parse(&text).map_err(|e| {
        CliError::failure(format!(
            "{}: {e} (expected a --tcp-log file)",
            args.file.display()
        ))
    })?;
    let (conn, rows) = choose(&by_conn, args.conn.as_deref())?;
    let title = format!("{conn} ({})", kind_name(args.kind));
    let drawn = match args.kind {
        PlotKind::Cwnd => draw_cwnd(&args.output, &title, rows),
        PlotKind::Seq => draw_seq(&args.output, &title, rows),
    };
    drawn.map_err(|e| CliError::failure(format!("cannot draw {}: {e}", args.output.display())))?;
    eprintln!(
        "netstack: plotted {} events of {conn} to {}",
        rows.len(),
        args.output.display()
    );
    Ok(0)
}

fn kind_name(kind: PlotKind) -> &'static str {
    match kind {
        PlotKind::Cwnd => "cwnd, ssthresh and bytes in flight",
        PlotKind::Seq => "time-sequence",
    }
}

/// The log's rows, by connection, in order. An empty file or a line that is not one
/// of the log's objects is an error naming the line.
fn parse(text: &str) -> Result<BTreeMap<String, Vec<Row>>, String> {
    let mut by_conn: BTreeMap<String, Vec<Row>> = BTreeMap::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let v: Value = serde_json::from_str(line).map_err(|e| format!("line {}: {e}", i + 1))?;
        let num = |k: &str| v.get(k).and_then(Value::as_f64);
        let (Some(conn), Some(t), Some(event)) = (
            v.get("conn").and_then(Value::as_str),
            num("t"),
            v.get("event").and_then(Value::as_str),
        ) else {
            return Err(format!("line {}: no conn, t or event", i + 1));
        };
        let seq = match (num("seq"), num("len")) {
            (Some(s), Some(l)) => Some((s as u32, l as u32)),
            _ => None,
        };
        by_conn.entry(conn.to_string()).or_default().push(Row {
            t,
            event: event.to_string(),
            cwnd: num("cwnd").unwrap_or(0.0),
            ssthresh: num("ssthresh"),
            // What cwnd limits: sent, not acknowledged, not SACKed (RFC 6675's pipe,
            // but for the segments it deems lost).
            in_flight: num("in_flight").unwrap_or(0.0) - num("sacked").unwrap_or(0.0),
            retransmit: v
                .get("retransmit")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            snd_una: num("snd_una").unwrap_or(0.0) as u32,
            peer_window: num("peer_window").unwrap_or(0.0),
            seq,
            syn_or_fin: v
                .get("flags")
                .and_then(Value::as_str)
                .is_some_and(|f| f.contains('S') || f.contains('F')),
        });
    }
    if by_conn.is_empty() {
        return Err("no events".to_string());
    }
    Ok(by_conn)
}

/// The connection `filter` names, or the one that sent the most data.
fn choose<'a>(
    by_conn: &'a BTreeMap<String, Vec<Row>>,
    filter: Option<&str>,
) -> Result<(&'a str, &'a [Row]), CliError> {
    let sent = |rows: &[Row]| -> u64 {
        rows.iter()
            .filter_map(|r| r.seq.map(|(_, len)| u64::from(len)))
            .sum()
    };
    let mut candidates: Vec<(&String, &Vec<Row>)> = by_conn
        .iter()
        .filter(|(conn, _)| filter.is_none_or(|f| conn.contains(f)))
        .collect();
    candidates.sort_by_key(|(_, rows)| std::cmp::Reverse(sent(rows)));
    match candidates.first() {
        Some((conn, rows)) => Ok((conn.as_str(), rows.as_slice())),
        None => Err(CliError::usage(format!(
            "no connection matches --conn {:?}; the log has: {}",
            filter.unwrap_or(""),
            by_conn.keys().cloned().collect::<Vec<_>>().join(", ")
        ))),
    }
}

type DrawResult = Result<(), Box<dyn std::error::Error>>;

const SIZE: (u32, u32) = (1000, 600);

/// Steps through `points` (t, y): y holds until the next t.
fn steps(points: impl IntoIterator<Item = (f64, f64)>) -> Vec<(f64, f64)> {
    let mut out: Vec<(f64, f64)> = Vec::new();
    for (t, y) in points {
        if let Some(&(_, prev)) = out.last() {
            if prev != y {
                out.push((t, prev));
            }
        }
        out.push((t, y));
    }
    out
}

fn time_range(rows: &[Row]) -> (f64, f64) {
    let t0 = rows.first().map_or(0.0, |r| r.t);
    let t1 = rows.last().map_or(1.0, |r| r.t);
    (t0, if t1 > t0 { t1 } else { t0 + 0.001 })
}

/// The chart both kinds draw on, with the series on the y axis.
type Chart<'a, 'b> = ChartContext<'a, SVGBackend<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// Draws an SVG chart of [`SIZE`] at `path`: titled `title`, time since the connection's
/// first event on x (0 to `span` seconds), 0 to `top` on y (`y_desc`). `series` draws
/// onto it, each series with its legend entry; the legend goes top left.
fn draw_chart(
    path: &Path,
    title: &str,
    span: f64,
    top: f64,
    y_desc: &str,
    series: impl FnOnce(&mut Chart<'_, '_>) -> DrawResult,
) -> DrawResult {
    let root = SVGBackend::new(path, SIZE).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 20))
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(70)
        .build_cartesian_2d(0.0..span, 0.0..top)?;
    chart
        .configure_mesh()
        .x_desc("time since the connection's first event (s)")
        .y_desc(y_desc)
        .draw()?;
    series(&mut chart)?;
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .position(SeriesLabelPosition::UpperLeft)
        .draw()?;
    root.present()?;
    Ok(())
}

fn draw_cwnd(path: &Path, title: &str, rows: &[Row]) -> DrawResult {
    let (t0, t1) = time_range(rows);
    let kb = |b: f64| b / 1024.0;
    // The scale follows cwnd, the subject: after a timeout the flight (everything
    // outstanding, SACKed or not, counts again) and an ssthresh taken from it can be
    // far above any cwnd, and would flatten the rest. What is above is cut off.
    let top = rows.iter().map(|r| r.cwnd).fold(1.0, f64::max);
    draw_chart(path, title, t1 - t0, kb(top) * 1.3, "KiB", |chart| {
        let cwnd = steps(rows.iter().map(|r| (r.t - t0, kb(r.cwnd))));
        chart
            .draw_series(LineSeries::new(cwnd, BLUE.stroke_width(2)))?
            .label("cwnd")
            .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], BLUE.stroke_width(2)));
        let ssthresh = steps(
            rows.iter()
                .filter_map(|r| r.ssthresh.map(|s| (r.t - t0, kb(s)))),
        );
        chart
            .draw_series(LineSeries::new(ssthresh, GREEN.stroke_width(2)))?
            .label("ssthresh")
            .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], GREEN.stroke_width(2)));
        let flight = steps(rows.iter().map(|r| (r.t - t0, kb(r.in_flight))));
        chart
            .draw_series(LineSeries::new(flight, RGBColor(255, 150, 0)))?
            .label("bytes in flight (not SACKed)")
            .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], RGBColor(255, 150, 0)));
        let resent = rows
            .iter()
            .filter(|r| r.event == "sent" && r.retransmit)
            .map(|r| Cross::new((r.t - t0, kb(r.in_flight)), 5, RED.stroke_width(2)));
        chart
            .draw_series(resent)?
            .label("retransmission")
            .legend(|(x, y)| Cross::new((x + 10, y), 5, RED.stroke_width(2)));
        let rtos = rows
            .iter()
            .filter(|r| r.event == "rto")
            .map(|r| Circle::new((r.t - t0, kb(r.cwnd)), 6, BLACK.stroke_width(2)));
        chart
            .draw_series(rtos)?
            .label("retransmission timeout")
            .legend(|(x, y)| Circle::new((x + 10, y), 6, BLACK.stroke_width(2)));
        Ok(())
    })
}

/// A segment that takes sequence space: data, a SYN or a FIN (not a bare ACK).
fn occupies(r: &Row) -> bool {
    r.seq.is_some_and(|(_, len)| len > 0) || r.syn_or_fin
}

fn draw_seq(path: &Path, title: &str, rows: &[Row]) -> DrawResult {
    let (t0, t1) = time_range(rows);
    // Sequence numbers relative to the first one the log shows, in KiB.
    let base = rows
        .iter()
        .find_map(|r| r.seq.map(|(s, _)| s))
        .unwrap_or_else(|| rows.first().map_or(0, |r| r.snd_una));
    let rel = |s: u32| f64::from(s.wrapping_sub(base)) / 1024.0;
    // The scale follows the data: a window edge far above it (4 MiB of receive
    // buffer) would flatten the segments, so it is cut off.
    let top = rows
        .iter()
        .map(|r| {
            let end = r.seq.map_or(0.0, |(s, l)| rel(s.wrapping_add(l.max(1))));
            end.max(rel(r.snd_una))
        })
        .fold(1.0, f64::max)
        * 1.2;
    let y_desc = "sequence number (KiB from the first)";
    draw_chart(path, title, t1 - t0, top, y_desc, |chart| {
        let window = steps(
            rows.iter()
                .map(|r| (r.t - t0, rel(r.snd_una) + r.peer_window / 1024.0)),
        );
        chart
            .draw_series(LineSeries::new(window, RGBColor(220, 180, 0)))?
            .label("window edge (SND.UNA + SND.WND)")
            .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], RGBColor(220, 180, 0)));
        let acked = steps(
            rows.iter()
                .filter(|r| r.event == "ack")
                .map(|r| (r.t - t0, rel(r.snd_una))),
        );
        chart
            .draw_series(LineSeries::new(acked, GREEN.stroke_width(2)))?
            .label("ACKed (SND.UNA)")
            .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], GREEN.stroke_width(2)));
        let segment = |r: &Row, color: RGBColor| {
            let (s, l) = r.seq.unwrap_or((base, 0));
            let t = r.t - t0;
            PathElement::new(
                [(t, rel(s)), (t, rel(s.wrapping_add(l.max(1))))],
                color.stroke_width(2),
            )
        };
        chart
            .draw_series(
                rows.iter()
                    .filter(|r| r.event == "sent" && occupies(r) && !r.retransmit)
                    .map(|r| segment(r, BLUE)),
            )?
            .label("segment sent")
            .legend(|(x, y)| {
                PathElement::new([(x + 10, y - 6), (x + 10, y + 6)], BLUE.stroke_width(2))
            });
        chart
            .draw_series(
                rows.iter()
                    .filter(|r| r.event == "sent" && occupies(r) && r.retransmit)
                    .map(|r| segment(r, RED)),
            )?
            .label("retransmission")
            .legend(|(x, y)| {
                PathElement::new([(x + 10, y - 6), (x + 10, y + 6)], RED.stroke_width(2))
            });
        // SYNs and FINs take one sequence number: too thin for a bar, so a ring.
        chart
            .draw_series(
                rows.iter()
                    .filter(|r| r.event == "sent" && r.syn_or_fin)
                    .map(|r| {
                        let (s, _) = r.seq.unwrap_or((base, 0));
                        let color = if r.retransmit { RED } else { BLUE };
                        Circle::new((r.t - t0, rel(s)), 4, color.stroke_width(2))
                    }),
            )?
            .label("SYN or FIN (red: again)")
            .legend(|(x, y)| Circle::new((x + 10, y), 4, BLUE.stroke_width(2)));
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOG: &str = concat!(
        "{\"t\":0.1,\"conn\":\"10.0.0.1:80>10.0.0.2:4000\",\"event\":\"sent\",\"state\":\"ESTABLISHED\",\"snd_una\":1,\"snd_nxt\":1449,\"cwnd\":14600,\"ssthresh\":null,\"in_flight\":1448,\"retransmit\":false,\"peer_window\":65535,\"seq\":1,\"len\":1448}\n",
        "{\"t\":0.2,\"conn\":\"10.0.0.1:80>10.0.0.2:4000\",\"event\":\"sent\",\"state\":\"ESTABLISHED\",\"snd_una\":1,\"snd_nxt\":1449,\"cwnd\":7300,\"ssthresh\":7300,\"in_flight\":1448,\"retransmit\":true,\"peer_window\":65535,\"seq\":1,\"len\":1448}\n",
        "{\"t\":0.3,\"conn\":\"10.0.0.2:4000>10.0.0.1:80\",\"event\":\"ack\",\"state\":\"ESTABLISHED\",\"snd_una\":9,\"snd_nxt\":9,\"cwnd\":14600,\"ssthresh\":null,\"in_flight\":0,\"retransmit\":false,\"peer_window\":65535}\n",
    );

    #[test]
    fn the_sender_is_chosen_and_both_kinds_draw() {
        let by_conn = parse(LOG).unwrap();
        let (conn, rows) = choose(&by_conn, None).unwrap();
        assert_eq!(conn, "10.0.0.1:80>10.0.0.2:4000");
        assert_eq!(rows.len(), 2);
        let (conn, _) = choose(&by_conn, Some(":4000>")).unwrap();
        assert_eq!(conn, "10.0.0.2:4000>10.0.0.1:80");
        assert!(choose(&by_conn, Some("nothing")).is_err());
        let dir = std::env::temp_dir().join(format!("netstack-plot-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        for (name, draw) in [
            (
                "cwnd.svg",
                draw_cwnd as fn(&Path, &str, &[Row]) -> DrawResult,
            ),
            ("seq.svg", draw_seq),
        ] {
            let path = dir.join(name);
            draw(&path, "test", rows).unwrap();
            let svg = fs::read_to_string(&path).unwrap();
            assert!(
                svg.starts_with("<svg") && svg.contains("retransmission"),
                "{svg}"
            );
        }
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn what_is_not_a_log_is_refused_with_its_line() {
        assert_eq!(parse("").unwrap_err(), "no events");
        assert!(parse("{\"t\":1}\nnot json")
            .unwrap_err()
            .starts_with("line 1"));
        assert!(parse("\n{oops").unwrap_err().starts_with("line 2"));
    }
}
