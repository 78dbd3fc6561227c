//! Text on small screens: measuring, wrapping to a width, cutting with "...", drawing.

use embedded_graphics::prelude::*;
use u8g2_fonts::types::{FontColor, HorizontalAlignment, VerticalPosition};
use u8g2_fonts::FontRenderer;

/// Width in pixels of `text` in `font`.
pub fn width(font: &FontRenderer, text: &str) -> i32 {
    font.get_rendered_dimensions(text, Point::zero(), VerticalPosition::Top)
        .map(|d| d.advance.x)
        .unwrap_or(0)
}

/// Height of one line of `font`, in pixels: capitals, descenders and a small gap (the
/// font's own line height also reserves room for accents above capitals, which wastes
/// a third of a 64-pixel screen).
pub fn line_height(font: &FontRenderer) -> i32 {
    let ascent = i32::from(font.get_ascent());
    ascent - i32::from(font.get_descent()) + ascent / 6
}

/// Cuts `text` so that it fits `max_width`, ending in "..." if anything was cut.
pub fn ellipsize(font: &FontRenderer, text: &str, max_width: i32) -> String {
    if width(font, text) <= max_width {
        return text.to_string();
    }
    let mut cut: String = text.to_string();
    while !cut.is_empty() {
        cut.pop();
        let candidate = format!("{}...", cut.trim_end());
        if width(font, &candidate) <= max_width {
            return candidate;
        }
    }
    "...".into()
}

/// Breaks `text` into at most `max_lines` lines no wider than `max_width`, at spaces
/// where possible; the last line ends in "..." if the text did not fit.
pub fn wrap(font: &FontRenderer, text: &str, max_width: i32, max_lines: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut current = String::new();
    let mut overflow = false;
    'paragraphs: for (p, paragraph) in text.split('\n').enumerate() {
        if p > 0 {
            lines.push(std::mem::take(&mut current));
        }
        for word in paragraph.split_whitespace() {
            let candidate = if current.is_empty() {
                word.to_string()
            } else {
                format!("{current} {word}")
            };
            if width(font, &candidate) <= max_width {
                current = candidate;
                continue;
            }
            if !current.is_empty() {
                lines.push(std::mem::take(&mut current));
            }
            // A word wider than the line is split by characters.
            let mut piece = String::new();
            for ch in word.chars() {
                piece.push(ch);
                if width(font, &piece) > max_width && piece.chars().count() > 1 {
                    piece.pop();
                    lines.push(std::mem::take(&mut piece));
                    piece.push(ch);
                }
            }
            current = piece;
            if lines.len() >= max_lines {
                overflow = true;
                break 'paragraphs;
            }
        }
    }
    if !current.is_empty() {
        lines.push(current);
    }
    if lines.len() > max_lines {
        overflow = true;
        lines.truncate(max_lines);
    }
    if overflow {
        if let Some(last) = lines.last_mut() {
            *last = ellipsize(font, &format!("{last}..."), max_width);
        }
    }
    lines
}

/// Where a line of text is anchored horizontally.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    /// `x` is the left edge.
    Left,
    /// `x` is the centre.
    Center,
}

/// Draws one line with the top of its capitals at `y`.
pub fn draw<D>(
    target: &mut D,
    font: &FontRenderer,
    text: &str,
    x: i32,
    y: i32,
    align: Align,
    color: D::Color,
) -> Result<(), D::Error>
where
    D: DrawTarget,
{
    let align = match align {
        Align::Left => HorizontalAlignment::Left,
        Align::Center => HorizontalAlignment::Center,
    };
    match font.render_aligned(
        text,
        Point::new(x, y + i32::from(font.get_ascent())),
        VerticalPosition::Baseline,
        align,
        FontColor::Transparent(color),
        target,
    ) {
        Ok(_) => Ok(()),
        Err(u8g2_fonts::Error::DisplayError(e)) => Err(e),
        // Missing glyphs are skipped (ignore_unknown_chars); nothing else can fail.
        Err(_) => Ok(()),
    }
}

/// Draws lines one under the other from `y`; returns the `y` below the last one.
pub fn draw_lines<D>(
    target: &mut D,
    font: &FontRenderer,
    lines: &[String],
    x: i32,
    mut y: i32,
    align: Align,
    color: D::Color,
) -> Result<i32, D::Error>
where
    D: DrawTarget,
{
    for line in lines {
        draw(target, font, line, x, y, align, color)?;
        y += line_height(font);
    }
    Ok(y)
}

#[cfg(test)]
mod tests {
    use super::*;
    use u8g2_fonts::fonts::u8g2_font_helvR10_tf;

    const FONT: FontRenderer = FontRenderer::new::<u8g2_font_helvR10_tf>();

    #[test]
    fn wrapped_lines_fit_and_keep_every_word() {
        let text = "The camera is unplugged; plug it back in and wait a moment";
        let lines = wrap(&FONT, text, 100, 10);
        assert!(lines.len() > 2);
        assert!(lines.iter().all(|l| width(&FONT, l) <= 100), "{lines:?}");
        assert_eq!(lines.join(" "), text);
    }

    #[test]
    fn too_much_text_ends_in_an_ellipsis() {
        let text = "one two three four five six seven eight nine ten eleven twelve";
        let lines = wrap(&FONT, text, 60, 2);
        assert_eq!(lines.len(), 2);
        assert!(lines[1].ends_with("..."), "{lines:?}");
        assert!(lines.iter().all(|l| width(&FONT, l) <= 60));
    }

    #[test]
    fn long_words_are_split() {
        let lines = wrap(
            &FONT,
            "hearth1.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            50,
            10,
        );
        assert!(lines.len() > 1);
        assert!(lines.iter().all(|l| width(&FONT, l) <= 50), "{lines:?}");
    }
}
