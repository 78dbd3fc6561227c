//! Drawing a [`Screen`] onto any embedded-graphics target, at 240x240 or 128x64.
//!
//! One layout per screen, written against the target's size and a [`Theme`], so the
//! simulator (PNG), the ST7789 and the SSD1306 all get the very same pixels. Text is
//! large, states are words (PRIVATE, LIVE) and not only colours.

use embedded_graphics::prelude::*;
use embedded_graphics::primitives::{Circle, PrimitiveStyle, Rectangle};

use super::photo;
use super::qr::Qr;
use super::screen::{Home, HomeState, Network, Received, Screen};
use super::text::{self, Align};
use super::theme::{Palette, ScreenColor, Theme};

/// Draws `screen` over the whole of `target`.
pub fn render<D>(screen: &Screen, target: &mut D) -> Result<(), D::Error>
where
    D: DrawTarget,
    D::Color: ScreenColor,
{
    let size = target.bounding_box().size;
    let ctx = Ctx {
        theme: Theme::for_size(size),
        p: D::Color::palette(),
        w: size.width as i32,
        h: size.height as i32,
    };
    target.clear(ctx.p.background)?;
    match screen {
        Screen::Home(home) => ctx.home(target, home),
        Screen::Pairing { device_name, code } => ctx.pairing(target, device_name, code),
        Screen::PairingNeedsRelay { device_name } => ctx.banded_text(
            target,
            device_name,
            ctx.p.header,
            "Phones can't pair yet: set a public relay or a LAN address.",
        ),
        Screen::RelayUnreachable { relay } => ctx.banded_text(
            target,
            "No relay",
            ctx.p.alert,
            &format!("Can't reach {relay}: no pairing or calls till it's back."),
        ),
        Screen::Approval { name } => ctx.approval(target, name),
        Screen::SnapshotSent { delivered, total } => {
            ctx.share_sent(target, "Photo sent", *delivered, *total)
        }
        Screen::ThoughtSent { delivered, total } => {
            ctx.share_sent(target, "Thought sent", *delivered, *total)
        }
        Screen::Received { from, content } => ctx.received(target, from, content),
        Screen::Picture {
            from,
            picture,
            watchers,
        } => ctx.picture(target, from, picture, watchers),
        Screen::Error { message } => ctx.banded_text(target, "Problem", ctx.p.alert, message),
    }
}

/// Where a contact's picture (or a photo) goes on a screen of `size`: all
/// of it below the top band ([`photo::placed`] says where in there).
pub fn picture_area(size: Size) -> Rectangle {
    let ctx = Ctx {
        theme: Theme::for_size(size),
        p: embedded_graphics::pixelcolor::Rgb565::palette(),
        w: size.width as i32,
        h: size.height as i32,
    };
    ctx.below_band()
}

struct Ctx<C> {
    theme: Theme,
    p: Palette<C>,
    w: i32,
    h: i32,
}

fn fill<C: PixelColor>(
    x: i32,
    y: i32,
    w: i32,
    h: i32,
    color: C,
) -> impl Drawable<Color = C, Output = ()> {
    Rectangle::new(
        Point::new(x, y),
        Size::new(w.max(0) as u32, h.max(0) as u32),
    )
    .into_styled(PrimitiveStyle::with_fill(color))
}

impl<C: ScreenColor> Ctx<C> {
    fn large(&self) -> bool {
        self.w >= 200
    }

    fn inner_width(&self) -> i32 {
        self.w - 2 * self.theme.margin
    }

    /// A full-width band at the top with one line of `font` text; returns its height.
    /// How tall [`Ctx::band`] is.
    fn band_height(&self) -> i32 {
        text::line_height(&self.theme.title) + 2 * self.theme.margin
    }

    /// The screen below the band, where a photo or a picture goes.
    fn below_band(&self) -> Rectangle {
        let band = self.band_height();
        Rectangle::new(
            Point::new(0, band + 1),
            Size::new(self.w as u32, (self.h - band - 1).max(1) as u32),
        )
    }

    fn band<D: DrawTarget<Color = C>>(
        &self,
        target: &mut D,
        label: &str,
        (background, foreground): (C, C),
    ) -> Result<i32, D::Error> {
        let font = &self.theme.title;
        let height = self.band_height();
        fill(0, 0, self.w, height, background).draw(target)?;
        let label = text::ellipsize(font, label, self.inner_width());
        text::draw(
            target,
            font,
            &label,
            self.w / 2,
            self.theme.margin,
            Align::Center,
            foreground,
        )?;
        Ok(height)
    }

    fn home<D: DrawTarget<Color = C>>(&self, target: &mut D, home: &Home) -> Result<(), D::Error> {
        let t = &self.theme;
        let state = home.state();
        let (word, (background, foreground)) = match state {
            HomeState::Private => ("PRIVATE", self.p.private),
            HomeState::Ready => ("CAMERA ON", self.p.ready),
            HomeState::Live => ("LIVE", self.p.live),
        };
        let banner = t.banner_height as i32;
        fill(0, 0, self.w, banner, background).draw(target)?;
        if self.p.mono && state == HomeState::Private {
            // On one colour, PRIVATE is an outlined box and LIVE a solid one.
            Rectangle::new(Point::zero(), Size::new(self.w as u32, t.banner_height))
                .into_styled(PrimitiveStyle::with_stroke(self.p.text, t.stroke))
                .draw(target)?;
        }
        let word_top = (banner - text::line_height(&t.huge)) / 2;
        text::draw(
            target,
            &t.huge,
            word,
            self.w / 2,
            word_top,
            Align::Center,
            foreground,
        )?;

        let gap = if self.large() { 14 } else { 4 };
        if self.large() {
            let lines = text::wrap(&t.body, &home.detail(), self.inner_width(), 2);
            text::draw_lines(
                target,
                &t.body,
                &lines,
                self.w / 2,
                banner + gap,
                Align::Center,
                self.p.text,
            )?;
        } else {
            let line = text::ellipsize(&t.body, &home.short_detail(), self.inner_width());
            text::draw(
                target,
                &t.body,
                &line,
                self.w / 2,
                banner + gap,
                Align::Center,
                self.p.text,
            )?;
        }

        // Network status: a dot and a word, at the bottom.
        let (dot, label) = match home.network {
            Network::Online => (self.p.good, Network::Online.label()),
            Network::Connecting => (self.p.muted, Network::Connecting.label()),
            Network::Offline => (self.p.bad, Network::Offline.label()),
        };
        let lh = text::line_height(&t.small);
        let y = self.h - lh - t.margin / 2;
        let d = (lh / 2).max(4);
        let label_w = text::width(&t.small, label);
        let x = (self.w - label_w - d - d / 2) / 2;
        let dot_style = if home.network == Network::Online || !self.p.mono {
            PrimitiveStyle::with_fill(dot)
        } else {
            PrimitiveStyle::with_stroke(dot, 1)
        };
        Circle::new(Point::new(x, y + (lh - d) / 2), d as u32)
            .into_styled(dot_style)
            .draw(target)?;
        text::draw(
            target,
            &t.small,
            label,
            x + d + d / 2,
            y,
            Align::Left,
            self.p.muted,
        )
    }

    fn pairing<D: DrawTarget<Color = C>>(
        &self,
        target: &mut D,
        device_name: &str,
        code: &str,
    ) -> Result<(), D::Error> {
        let t = &self.theme;
        let qr = Qr::new(code);
        if self.large() {
            let title_h = text::line_height(&t.title);
            let name_h = text::line_height(&t.small);
            let gap = 4;
            text::draw(
                target,
                &t.title,
                "Scan to pair",
                self.w / 2,
                gap,
                Align::Center,
                self.p.text,
            )?;
            let Some(qr) = qr else {
                return self.too_long(target, title_h + 2 * gap);
            };
            // Show the device's name under the code only if the code stays as large.
            let room = |name: bool| {
                let used = title_h + 3 * gap + if name { name_h + gap } else { 0 };
                (self.h - used).min(self.w - 2 * gap) as u32
            };
            let with_name = qr.scale_for(room(true)) == qr.scale_for(room(false));
            let room = room(with_name);
            let scale = qr.scale_for(room);
            if scale == 0 {
                return self.too_long(target, title_h + 2 * gap);
            }
            let side = qr.side(scale) as i32;
            let top = 2 * gap + title_h + (room as i32 - side) / 2;
            qr.draw(target, Point::new((self.w - side) / 2, top), scale)?;
            if with_name {
                let name = text::ellipsize(&t.small, device_name, self.inner_width());
                text::draw(
                    target,
                    &t.small,
                    &name,
                    self.w / 2,
                    self.h - name_h - gap,
                    Align::Center,
                    self.p.muted,
                )?;
            }
            return Ok(());
        }
        // Small screen: the code on the left, words on the right.
        let side = self.h as u32;
        let Some(qr) = qr.filter(|q| q.scale_for(side) > 0) else {
            return self.too_long(target, 0);
        };
        let scale = qr.scale_for(side);
        let drawn = qr.side(scale) as i32;
        qr.draw(target, Point::new(0, (self.h - drawn) / 2), scale)?;
        let x = drawn + t.margin + 2;
        let width = self.w - x - t.margin;
        let y = text::draw_lines(
            target,
            &t.title,
            &text::wrap(&t.title, "Scan to pair", width, 2),
            x,
            4,
            Align::Left,
            self.p.text,
        )?;
        let name = text::wrap(&t.small, device_name, width, 2);
        text::draw_lines(target, &t.small, &name, x, y + 4, Align::Left, self.p.muted)?;
        Ok(())
    }

    fn too_long<D: DrawTarget<Color = C>>(&self, target: &mut D, top: i32) -> Result<(), D::Error> {
        let lines = text::wrap(
            &self.theme.body,
            "The pairing code is too long for this screen. Run `hearth id` on a computer.",
            self.inner_width(),
            6,
        );
        text::draw_lines(
            target,
            &self.theme.body,
            &lines,
            self.w / 2,
            top + 4,
            Align::Center,
            self.p.text,
        )?;
        Ok(())
    }

    fn approval<D: DrawTarget<Color = C>>(
        &self,
        target: &mut D,
        name: &str,
    ) -> Result<(), D::Error> {
        let t = &self.theme;
        let mut y = t.margin;
        if self.large() {
            text::draw(
                target,
                &t.small,
                "New contact",
                self.w / 2,
                y,
                Align::Center,
                self.p.muted,
            )?;
            y += text::line_height(&t.small) + 10;
        }
        let name_font = if self.large() { &t.huge } else { &t.title };
        let max_lines = if self.large() { 2 } else { 1 };
        let lines = text::wrap(name_font, name, self.inner_width(), max_lines);
        y = text::draw_lines(
            target,
            name_font,
            &lines,
            self.w / 2,
            y,
            Align::Center,
            self.p.text,
        )?;
        let ask = text::wrap(
            &t.body,
            "wants to see and hear this camera",
            self.inner_width(),
            2,
        );
        text::draw_lines(
            target,
            &t.body,
            &ask,
            self.w / 2,
            y + 2,
            Align::Center,
            self.p.text,
        )?;
        // Which button does what, at the bottom.
        let lh = text::line_height(&t.small);
        let y = self.h - lh - t.margin / 2;
        text::draw(
            target,
            &t.small,
            "YES: allow",
            self.w / 4,
            y,
            Align::Center,
            self.p.good,
        )?;
        text::draw(
            target,
            &t.small,
            "NO: refuse",
            3 * self.w / 4,
            y,
            Align::Center,
            self.p.bad,
        )
    }

    fn share_sent<D: DrawTarget<Color = C>>(
        &self,
        target: &mut D,
        sent: &str,
        delivered: u32,
        total: u32,
    ) -> Result<(), D::Error> {
        let t = &self.theme;
        let top = if self.large() { 36 } else { 2 };
        let headline = if self.large() { &t.huge } else { &t.title };
        // Never "sent" before any contact has it: until then it is waiting.
        let (title, detail) = match (delivered, total) {
            (_, 0) => ("Not sent", "Nobody can receive photos yet".to_string()),
            (0, t) => ("Waiting", format!("0 of {t} delivered")),
            (d, t) if d >= t => (sent, format!("Delivered to all {t}")),
            (d, t) => (sent, format!("Delivered to {d} of {t}")),
        };
        text::draw(
            target,
            headline,
            title,
            self.w / 2,
            top,
            Align::Center,
            self.p.text,
        )?;
        let y = top + text::line_height(headline) + if self.large() { 12 } else { 2 };
        let lines = text::wrap(&t.body, &detail, self.inner_width(), 2);
        let y = text::draw_lines(
            target,
            &t.body,
            &lines,
            self.w / 2,
            y,
            Align::Center,
            self.p.text,
        )?;
        if total == 0 {
            return Ok(());
        }
        // A progress bar: outline, filled in proportion.
        let bar_h = if self.large() { 22 } else { 8 };
        let bar_y = (y + if self.large() { 18 } else { 4 }).min(self.h - bar_h - 1);
        let bar_w = self.inner_width();
        Rectangle::new(
            Point::new(t.margin, bar_y),
            Size::new(bar_w as u32, bar_h as u32),
        )
        .into_styled(PrimitiveStyle::with_stroke(self.p.text, 1))
        .draw(target)?;
        let done = (bar_w - 4) * delivered.min(total) as i32 / total as i32;
        fill(t.margin + 2, bar_y + 2, done, bar_h - 4, self.p.good).draw(target)
    }

    fn received<D: DrawTarget<Color = C>>(
        &self,
        target: &mut D,
        from: &str,
        content: &Received,
    ) -> Result<(), D::Error> {
        let t = &self.theme;
        let label = match content {
            Received::Text(_) => format!("From {from}"),
            Received::Photo(_) => format!("Photo from {from}"),
        };
        let band = self.band(target, &label, self.p.header)?;
        match content {
            Received::Text(message) => {
                let font = if self.large() { &t.body } else { &t.small };
                let room = self.h - band - 2 * t.margin;
                let max_lines = (room / text::line_height(font)).max(1) as usize;
                let lines = text::wrap(font, message, self.inner_width(), max_lines);
                let used = lines.len() as i32 * text::line_height(font);
                let y = band + t.margin + (room - used) / 2;
                text::draw_lines(
                    target,
                    font,
                    &lines,
                    self.w / 2,
                    y,
                    Align::Center,
                    self.p.text,
                )?;
                Ok(())
            }
            Received::Photo(picture) => photo::draw(target, picture, self.below_band()),
        }
    }

    /// A contact's picture under a band: LIVE (and who) while anyone
    /// receives this device, else the contact's name.
    fn picture<D: DrawTarget<Color = C>>(
        &self,
        target: &mut D,
        from: &str,
        picture: &photo::Thumbnail,
        watchers: &[String],
    ) -> Result<(), D::Error> {
        let band = if watchers.is_empty() {
            self.band(target, from, self.p.header)?
        } else {
            let label = format!("LIVE: {}", watchers.join(", "));
            self.band(target, &label, self.p.live)?
        };
        debug_assert_eq!(band, self.band_height());
        photo::draw(target, picture, self.below_band())
    }

    /// A band with `label` in `colors`, then `message` in words below it.
    fn banded_text<D: DrawTarget<Color = C>>(
        &self,
        target: &mut D,
        label: &str,
        colors: (C, C),
        message: &str,
    ) -> Result<(), D::Error> {
        let t = &self.theme;
        let band = self.band(target, label, colors)?;
        let font = &t.small;
        let room = self.h - band - t.margin;
        let max_lines = (room / text::line_height(font)).max(1) as usize;
        let lines = text::wrap(font, message, self.inner_width(), max_lines);
        text::draw_lines(
            target,
            font,
            &lines,
            t.margin,
            band + t.margin / 2 + 1,
            Align::Left,
            self.p.text,
        )?;
        Ok(())
    }
}
