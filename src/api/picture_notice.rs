//! What the answering device says about the caller's own camera (issue #16):
//! whether it shows the picture on its screen. One text message on the data
//! channel, `{"type":"picture","shown":true,"width":W,"height":H}` (shown; the
//! size it would like) or `{"type":"picture","shown":false,"code":…,"reason":…}`
//! (not shown, or no longer: the code for programs, the reason for people).
//! A caller reads it from [`super::PeerConnection::recv`] with
//! [`PictureNotice::parse`].

use serde::{Deserialize, Serialize};

/// The device's word on the caller's picture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PictureNotice {
    /// It is on the screen; `wants` is the picture size the device asked
    /// for, when it said one.
    Shown {
        /// Width and height in pixels the device would like.
        wants: Option<(u32, u32)>,
    },
    /// It is not on the screen (or no longer is).
    NotShown {
        /// Why, for programs: `show_not_allowed`, `privacy`,
        /// `ended_by_owner`, `replaced`, or a newer device's own.
        code: String,
        /// Why, in words for people.
        reason: String,
    },
}

/// The message as it travels: one flat object, `shown` saying which fields
/// it carries.
#[derive(Serialize, Deserialize)]
struct Wire {
    #[serde(rename = "type")]
    kind: String,
    shown: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    width: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    height: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
}

const TYPE: &str = "picture";

impl PictureNotice {
    /// Reads a data-channel text message; `None` if it is not a picture
    /// message. A size with a zero in it is no size.
    pub fn parse(text: &str) -> Option<PictureNotice> {
        if !text.contains("\"picture\"") {
            return None;
        }
        let wire: Wire = serde_json::from_str(text).ok()?;
        if wire.kind != TYPE {
            return None;
        }
        Some(match wire.shown {
            true => PictureNotice::Shown {
                wants: wire.width.zip(wire.height).filter(|&(w, h)| w > 0 && h > 0),
            },
            false => PictureNotice::NotShown {
                code: wire.code.unwrap_or_default(),
                reason: wire.reason.unwrap_or_default(),
            },
        })
    }

    /// The message as it goes on the data channel.
    pub fn to_json(&self) -> String {
        let wire = match self {
            PictureNotice::Shown { wants } => Wire {
                kind: TYPE.into(),
                shown: true,
                width: wants.map(|(w, _)| w),
                height: wants.map(|(_, h)| h),
                code: None,
                reason: None,
            },
            PictureNotice::NotShown { code, reason } => Wire {
                kind: TYPE.into(),
                shown: false,
                width: None,
                height: None,
                code: Some(code.clone()),
                reason: Some(reason.clone()),
            },
        };
        serde_json::to_string(&wire).expect("a picture notice serializes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_the_device_sends() {
        let cases: &[(&str, Option<PictureNotice>)] = &[
            (
                r#"{"type":"picture","shown":true,"width":640,"height":480}"#,
                Some(PictureNotice::Shown {
                    wants: Some((640, 480)),
                }),
            ),
            (
                r#"{"type":"picture","shown":true}"#,
                Some(PictureNotice::Shown { wants: None }),
            ),
            (
                r#"{"type":"picture","shown":true,"width":0,"height":480}"#,
                Some(PictureNotice::Shown { wants: None }),
            ),
            (
                r#"{"type":"picture","shown":false,"code":"show_not_allowed","reason":"Not allowed."}"#,
                Some(PictureNotice::NotShown {
                    code: "show_not_allowed".into(),
                    reason: "Not allowed.".into(),
                }),
            ),
            // A newer device's fields are ignored.
            (
                r#"{"type":"picture","shown":false,"code":"privacy","reason":"Private.","until":3}"#,
                Some(PictureNotice::NotShown {
                    code: "privacy".into(),
                    reason: "Private.".into(),
                }),
            ),
            (r#"{"type":"access","video":true}"#, None),
            (r#"{"type":"note","text":"picture"}"#, None),
            (r#"{"type":"picture"}"#, None),
            ("picture", None),
        ];
        for (text, want) in cases {
            assert_eq!(&PictureNotice::parse(text), want, "{text}");
        }
    }

    #[test]
    fn what_is_sent_reads_back() {
        for notice in [
            PictureNotice::Shown {
                wants: Some((320, 240)),
            },
            PictureNotice::Shown { wants: None },
            PictureNotice::NotShown {
                code: "replaced".into(),
                reason: "Someone else is on the screen now.".into(),
            },
        ] {
            assert_eq!(PictureNotice::parse(&notice.to_json()), Some(notice));
        }
    }
}
