//! A hardware encoder with openh264 behind it: if the hardware fails, stalls, or emits a
//! stream WebRTC viewers would refuse, the same call continues in software.
//!
//! The switch is permanent for the encoder's life (a flaky hardware encoder that comes
//! and goes would make viewers' pictures freeze repeatedly) and starts with a keyframe
//! so every viewer recovers at once.

use tracing::{info, warn};

use crate::media::h264::SpsInfo;
use crate::media::{EncodedVideo, I420Frame, MediaError, VideoEncoder};

/// Makes the software encoder when it is first needed.
pub type SoftwareFactory = Box<dyn FnMut() -> Result<Box<dyn VideoEncoder>, MediaError> + Send>;

/// Frames in a row the hardware may swallow before it counts as stalled.
pub const MAX_EMPTY_FRAMES: u32 = 30;

/// Why an access unit would be refused by a WebRTC viewer expecting `42e01f`-style
/// constrained baseline at most `max_level`; `None` if it is fine.
pub fn check_keyframe(data: &[u8], max_level: u8) -> Option<String> {
    let Some(sps) = SpsInfo::find(data) else {
        return Some("its keyframe has no SPS".into());
    };
    if !sps.is_constrained_baseline() {
        return Some(format!(
            "it encodes profile {} (profile-level-id {}), not constrained baseline",
            sps.profile_idc,
            sps.profile_level_id()
        ));
    }
    if sps.level_idc > max_level {
        return Some(format!(
            "it encodes level {} where {} was asked for",
            sps.level_idc, max_level
        ));
    }
    None
}

/// The hardware encoder, falling back to software; see the module documentation.
pub struct FallbackEncoder {
    hardware: Option<Box<dyn VideoEncoder>>,
    software: Option<Box<dyn VideoEncoder>>,
    make_software: SoftwareFactory,
    max_level: u8,
    checked: bool,
    empty_in_a_row: u32,
    switched_because: Option<String>,
}

impl std::fmt::Debug for FallbackEncoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FallbackEncoder")
            .field("hardware", &self.hardware.is_some())
            .field("switched_because", &self.switched_because)
            .finish()
    }
}

impl FallbackEncoder {
    /// Uses `hardware` until it fails; then `make_software()`. The first keyframe is
    /// checked against constrained baseline at most `max_level` (`level_idc`).
    pub fn new(
        hardware: Box<dyn VideoEncoder>,
        make_software: SoftwareFactory,
        max_level: u8,
    ) -> Self {
        FallbackEncoder {
            hardware: Some(hardware),
            software: None,
            make_software,
            max_level,
            checked: false,
            empty_in_a_row: 0,
            switched_because: None,
        }
    }

    /// Whether frames still go to the hardware encoder.
    pub fn is_hardware(&self) -> bool {
        self.hardware.is_some()
    }

    /// Why it switched to software, if it did.
    pub fn switched_because(&self) -> Option<&str> {
        self.switched_because.as_deref()
    }

    fn give_up_hardware(&mut self, reason: String) {
        warn!("hardware H.264 encoder dropped, continuing with openh264: {reason}");
        self.hardware = None;
        self.switched_because = Some(reason);
    }

    /// Runs the hardware encoder; `Err(())` means it was given up and software must run.
    fn try_hardware(
        &mut self,
        frame: &I420Frame,
        force_keyframe: bool,
    ) -> Result<Option<EncodedVideo>, ()> {
        let Some(hw) = self.hardware.as_mut() else {
            return Err(());
        };
        match hw.encode(frame, force_keyframe) {
            Ok(Some(out)) => {
                self.empty_in_a_row = 0;
                if out.keyframe && !self.checked {
                    if let Some(reason) = check_keyframe(&out.data, self.max_level) {
                        self.give_up_hardware(format!("viewers would refuse its stream: {reason}"));
                        return Err(());
                    }
                    self.checked = true;
                    info!("hardware H.264 encoder output checked: constrained baseline");
                }
                Ok(Some(out))
            }
            Ok(None) => {
                self.empty_in_a_row += 1;
                if self.empty_in_a_row > MAX_EMPTY_FRAMES {
                    self.give_up_hardware(format!("no output for {MAX_EMPTY_FRAMES} frames"));
                    return Err(());
                }
                Ok(None)
            }
            Err(e) => {
                self.give_up_hardware(e.to_string());
                Err(())
            }
        }
    }
}

impl VideoEncoder for FallbackEncoder {
    fn follow_estimate(&mut self, weakest: Option<u64>) {
        for encoder in [&mut self.hardware, &mut self.software]
            .into_iter()
            .flatten()
        {
            encoder.follow_estimate(weakest);
        }
    }

    fn use_temporal_layers(&mut self, on: bool) {
        for encoder in [&mut self.hardware, &mut self.software]
            .into_iter()
            .flatten()
        {
            encoder.use_temporal_layers(on);
        }
    }

    fn encode(
        &mut self,
        frame: &I420Frame,
        force_keyframe: bool,
    ) -> Result<Option<EncodedVideo>, MediaError> {
        let first_software_frame = match self.try_hardware(frame, force_keyframe) {
            Ok(out) => return Ok(out),
            Err(()) => self.software.is_none(),
        };
        if self.software.is_none() {
            self.software = Some((self.make_software)()?);
        }
        let software = self.software.as_mut().expect("just made");
        software.encode(frame, force_keyframe || first_software_frame)
    }
}
