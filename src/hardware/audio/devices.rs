//! Picking an ALSA device by name, as a pure function of the device list.
//!
//! `[audio] capture_device` may be `default`, an exact ALSA name as `arecord -L` prints
//! it (`plughw:CARD=Device,DEV=0`), or a word from the card's name or description
//! ("USB", "seeed"). A word picks the card's `plughw:` device, whose plug layer converts
//! rate and channels, so a stereo 44.1 kHz USB microphone still gives 48 kHz mono.

/// One entry of ALSA's device list (`snd_device_name_hint`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceHint {
    /// The name to open, e.g. `plughw:CARD=Device,DEV=0`.
    pub name: String,
    /// Human description, e.g. "USB PnP Sound Device, USB Audio".
    pub description: String,
}

/// Resolves `wanted` against `hints`; the error lists what there is.
pub fn resolve(wanted: &str, hints: &[DeviceHint]) -> Result<String, String> {
    let wanted = wanted.trim();
    if wanted.is_empty() || wanted == "default" {
        return Ok("default".into());
    }
    if hints.iter().any(|h| h.name == wanted) || wanted.contains(':') {
        // An exact name, or a raw specification like hw:1,0 that ALSA will check itself.
        return Ok(wanted.to_string());
    }
    let needle = wanted.to_lowercase();
    let matches = |h: &&DeviceHint| {
        h.name.to_lowercase().contains(&needle) || h.description.to_lowercase().contains(&needle)
    };
    let mut found: Vec<&DeviceHint> = hints.iter().filter(matches).collect();
    // Prefer the converting plug layer, then the card's plain hardware device.
    found.sort_by_key(|h| {
        if h.name.starts_with("plughw:") {
            0
        } else if h.name.starts_with("hw:") {
            1
        } else {
            2
        }
    });
    match found.first() {
        Some(h) => Ok(h.name.clone()),
        None => Err(format!(
            "no audio device matches `{wanted}`; known: {}",
            names(hints)
        )),
    }
}

fn names(hints: &[DeviceHint]) -> String {
    let list: Vec<&str> = hints
        .iter()
        .filter(|h| h.name.starts_with("plughw:") || h.name == "default")
        .map(|h| h.name.as_str())
        .collect();
    if list.is_empty() {
        "none (is a sound card connected?)".into()
    } else {
        list.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hints() -> Vec<DeviceHint> {
        [
            (
                "default",
                "Playback/recording through the PulseAudio sound server",
            ),
            (
                "hw:CARD=Device,DEV=0",
                "USB PnP Sound Device, USB Audio\nDirect hardware device",
            ),
            (
                "plughw:CARD=Device,DEV=0",
                "USB PnP Sound Device, USB Audio\nHardware device with all software conversions",
            ),
            (
                "plughw:CARD=seeed2micvoicec,DEV=0",
                "seeed-2mic-voicecard, bcm2835-i2s-wm8960-hifi",
            ),
        ]
        .iter()
        .map(|(n, d)| DeviceHint {
            name: n.to_string(),
            description: d.to_string(),
        })
        .collect()
    }

    #[test]
    fn a_word_picks_the_plug_device_of_that_card() {
        assert_eq!(
            resolve("usb", &hints()).unwrap(),
            "plughw:CARD=Device,DEV=0"
        );
        assert_eq!(
            resolve("seeed", &hints()).unwrap(),
            "plughw:CARD=seeed2micvoicec,DEV=0"
        );
    }

    #[test]
    fn exact_names_and_default_pass_through() {
        assert_eq!(resolve("default", &hints()).unwrap(), "default");
        assert_eq!(resolve("hw:1,0", &hints()).unwrap(), "hw:1,0");
        assert_eq!(
            resolve("hw:CARD=Device,DEV=0", &hints()).unwrap(),
            "hw:CARD=Device,DEV=0"
        );
    }

    #[test]
    fn an_unknown_word_lists_what_there_is() {
        let err = resolve("respeaker", &hints()).unwrap_err();
        assert!(err.contains("plughw:CARD=Device,DEV=0"), "{err}");
    }
}
