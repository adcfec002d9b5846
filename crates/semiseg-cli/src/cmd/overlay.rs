//! A prediction drawn over its image for `semiseg report`. Binary runs: the ground-truth
//! outline green, the prediction outline red. Multi-class runs: one colour per class, the
//! ground truth as that colour's outline and the prediction as a translucent fill, so each
//! class's agreement reads at a glance; a legend strip below names the classes.

use anyhow::{anyhow, Result};
use image::{Rgb, RgbImage};
use ndarray::ArrayView2;
use plotters::prelude::*;

/// Outline colour of the ground truth in binary overlays (green).
const GT_COLOUR: [u8; 3] = [40, 255, 40];
/// Outline colour of the prediction in binary overlays (red).
const PRED_COLOUR: [u8; 3] = [255, 40, 40];
/// Class colours of multi-class overlays (Okabe-Ito, told apart with colour-vision
/// deficiencies), repeated past seven classes.
const CLASS_COLOURS: [[u8; 3]; 7] = [[230, 159, 0], [86, 180, 233], [0, 158, 115], [240, 228, 66], [0, 114, 178], [213, 94, 0], [204, 121, 167]];
/// Opacity of a multi-class prediction fill.
const FILL_ALPHA: f32 = 0.45;

/// The colour of foreground class `c` (1-based) in multi-class overlays.
pub fn class_colour(c: u8) -> [u8; 3] {
    CLASS_COLOURS[(c as usize + CLASS_COLOURS.len() - 1) % CLASS_COLOURS.len()]
}

/// Whether pixel (y, x) of `m` is foreground with a 4-neighbour of another value (or the border).
fn on_edge(m: &ArrayView2<u8>, y: usize, x: usize) -> bool {
    let (h, w) = m.dim();
    let v = m[[y, x]];
    v != 0
        && [(0i64, 1i64), (0, -1), (1, 0), (-1, 0)].iter().any(|(dy, dx)| {
            let (yy, xx) = (y as i64 + dy, x as i64 + dx);
            yy < 0 || xx < 0 || yy >= h as i64 || xx >= w as i64 || m[[yy as usize, xx as usize]] != v
        })
}

/// The image stretched to grey 0-255 over its own range.
fn grey<'a>(image: &'a ArrayView2<'a, f32>) -> impl Fn(usize, usize) -> [u8; 3] + 'a {
    let (lo, hi) = image.iter().fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), &v| (a.min(v), b.max(v)));
    let scale = if hi > lo { 255.0 / (hi - lo) } else { 0.0 };
    move |y, x| {
        let g = ((image[[y, x]] - lo) * scale) as u8;
        [g, g, g]
    }
}

/// `image` with `gt` and `pred` (label maps, 0 = background) drawn over it; `classes` counts
/// the background, so 2 is a binary run.
pub fn overlay(image: &ArrayView2<f32>, gt: &ArrayView2<u8>, pred: &ArrayView2<u8>, classes: usize) -> RgbImage {
    let (h, w) = image.dim();
    let base = grey(image);
    RgbImage::from_fn(w as u32, h as u32, |x, y| {
        let (x, y) = (x as usize, y as usize);
        if classes <= 2 {
            return Rgb(if on_edge(pred, y, x) {
                PRED_COLOUR
            } else if on_edge(gt, y, x) {
                GT_COLOUR
            } else {
                base(y, x)
            });
        }
        if on_edge(gt, y, x) {
            return Rgb(class_colour(gt[[y, x]]));
        }
        let mut px = base(y, x);
        if pred[[y, x]] != 0 {
            let c = class_colour(pred[[y, x]]);
            for k in 0..3 {
                px[k] = (px[k] as f32 * (1.0 - FILL_ALPHA) + c[k] as f32 * FILL_ALPHA).round() as u8;
            }
        }
        Rgb(px)
    })
}

/// How the overlays of a run with `classes` (background counted) read, in words.
pub fn key(classes: usize) -> &'static str {
    if classes <= 2 { "green ground truth, red prediction" } else { "one colour per class, ground truth outlined, prediction filled" }
}

/// Height of one legend row under an overlay, in pixels.
const ROW_HEIGHT: u32 = 24;

/// The legend's entries: (swatch colour, text); a `None` colour is a line of text alone.
fn legend_entries(classes: usize, names: &dyn Fn(u8) -> String) -> Vec<(Option<[u8; 3]>, String)> {
    if classes <= 2 {
        return vec![(Some(GT_COLOUR), "ground truth".into()), (Some(PRED_COLOUR), "prediction".into())];
    }
    let mut entries = vec![(None, "outline: ground truth, fill: prediction".to_string())];
    entries.extend((1..classes as u8).map(|c| (Some(class_colour(c)), names(c))));
    entries
}

/// The overlay with a legend strip below it; `names` names a class value (multi-class runs).
pub fn with_legend(picture: &RgbImage, classes: usize, names: &dyn Fn(u8) -> String) -> Result<RgbImage> {
    let (w, h) = picture.dimensions();
    let entries = legend_entries(classes, names);
    // swatch entries flow left to right in slots as wide as the longest name needs (about 8 px
    // a character at 15 px, plus the swatch); a text-only entry takes a row of its own
    let widest = entries.iter().filter(|e| e.0.is_some()).map(|e| e.1.chars().count() as u32 * 8 + 28).max().unwrap_or(120);
    let slots = (w / widest).max(1) as usize;
    let mut placed = Vec::new();
    let (mut row, mut col) = (0u32, 0usize);
    for (colour, text) in &entries {
        if colour.is_none() || col == slots {
            if col > 0 {
                row += 1;
            }
            col = 0;
        }
        placed.push((row, col, *colour, text.clone()));
        col += 1;
        if colour.is_none() {
            (row, col) = (row + 1, 0);
        }
    }
    let rows = placed.last().map_or(1, |p| p.0 + 1);
    let strip_height = rows * ROW_HEIGHT + 4;
    let mut canvas = RgbImage::from_pixel(w, h + strip_height, Rgb([255, 255, 255]));
    image::imageops::replace(&mut canvas, picture, 0, 0);
    {
        let area = BitMapBackend::with_buffer(&mut canvas, (w, h + strip_height)).into_drawing_area();
        let strip = area.margin(h as i32, 0, 0, 0);
        let slot_width = (w as usize / slots) as i32;
        for (row, col, colour, text) in placed {
            let (x, y) = (8 + col as i32 * slot_width, 4 + (row * ROW_HEIGHT) as i32);
            let text_x = match colour {
                Some([r, g, b]) => {
                    strip.draw(&Rectangle::new([(x, y + 4), (x + 14, y + 16)], RGBColor(r, g, b).filled())).map_err(|e| anyhow!("{e}"))?;
                    x + 20
                }
                None => x,
            };
            strip.draw(&Text::new(text, (text_x, y + 3), ("sans-serif", 15).into_font().color(&BLACK))).map_err(|e| anyhow!("{e}"))?;
        }
        area.present().map_err(|e| anyhow!("{e}"))?;
    }
    Ok(canvas)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;

    /// A 12 × 12 image: ground truth class 1 in rows 1-4, class 3 in rows 7-10; the prediction
    /// has class 1 right and calls the lower block class 2.
    fn three_classes() -> (Array2<f32>, Array2<u8>, Array2<u8>) {
        let image = Array2::from_shape_fn((12, 12), |(y, x)| (y * 12 + x) as f32);
        let gt = Array2::from_shape_fn((12, 12), |(y, x)| if (1..=4).contains(&y) && (2..=9).contains(&x) { 1 } else if (7..=10).contains(&y) && (2..=9).contains(&x) { 3 } else { 0 });
        let pred = gt.mapv(|v| if v == 3 { 2 } else { v });
        (image, gt, pred)
    }

    #[test]
    fn multi_class_outlines_truth_and_fills_prediction_per_class() {
        let (image, gt, pred) = three_classes();
        let o = overlay(&image.view(), &gt.view(), &pred.view(), 4);
        // outline pixels carry the ground truth's class colour
        assert_eq!(o.get_pixel(2, 1).0, class_colour(1));
        assert_eq!(o.get_pixel(2, 7).0, class_colour(3));
        // inside, the fill is the predicted class's colour mixed into the grey
        let inside = o.get_pixel(5, 8).0;
        let g: f32 = (8.0 * 12.0 + 5.0) / 143.0 * 255.0;
        for k in 0..3 {
            let want = (g.floor() * (1.0 - FILL_ALPHA) + class_colour(2)[k] as f32 * FILL_ALPHA).round() as u8;
            assert!((inside[k] as i32 - want as i32).abs() <= 1, "channel {k}: {inside:?}");
        }
        // background stays grey
        let bg = o.get_pixel(0, 0).0;
        assert!(bg[0] == bg[1] && bg[1] == bg[2]);
        assert_ne!(class_colour(1), class_colour(2));
    }

    #[test]
    fn binary_runs_keep_green_and_red_outlines() {
        let (image, gt, _) = three_classes();
        let gt = gt.mapv(|v| (v == 1) as u8);
        let pred = gt.mapv(|v| v);
        let mut shifted = Array2::zeros((12, 12));
        shifted.slice_mut(ndarray::s![6..11, 2..10]).assign(&pred.slice(ndarray::s![1..6, 2..10]));
        let o = overlay(&image.view(), &gt.view(), &shifted.view(), 2);
        assert_eq!(o.get_pixel(2, 1).0, GT_COLOUR);
        assert_eq!(o.get_pixel(2, 6).0, PRED_COLOUR);
        assert_eq!(o.get_pixel(5, 3).0[0], o.get_pixel(5, 3).0[1], "no fill in binary overlays");
    }

    #[test]
    fn the_legend_names_every_class() {
        let entries = legend_entries(4, &|c| ["", "RV", "Myo", "LV"][c as usize].to_string());
        let texts: Vec<&str> = entries.iter().map(|e| e.1.as_str()).collect();
        assert_eq!(texts, ["outline: ground truth, fill: prediction", "RV", "Myo", "LV"]);
        assert_eq!(entries[3].0, Some(class_colour(3)));
        assert_eq!(legend_entries(2, &|_| String::new()).len(), 2);
        // drawn: the text row, then the three swatches side by side in a 256-wide picture
        super::super::report::register_font().unwrap();
        let picture = RgbImage::new(256, 256);
        let drawn = with_legend(&picture, 4, &|c| format!("class {c}")).unwrap();
        assert_eq!(drawn.dimensions(), (256, 256 + 2 * ROW_HEIGHT + 4));
        let swatch = drawn.get_pixel(8 + 5, 256 + 4 + ROW_HEIGHT + 10).0;
        assert_eq!(swatch, class_colour(1));
    }
}
