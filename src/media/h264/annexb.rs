//! Reading just enough of an H.264 Annex-B byte stream to route and check it.
//!
//! The WebRTC side needs to know whether an access unit is a keyframe and which
//! `profile-level-id` the stream really has (Chromium and aiortc refuse mismatches),
//! and tests need to look at NAL types. This is not a parser of slice data: it splits on
//! start codes and reads the three fixed bytes at the start of an SPS.

/// NAL unit type of a non-IDR coded slice.
pub const NAL_SLICE: u8 = 1;
/// NAL unit type of an IDR (instantaneous decoder refresh) coded slice.
pub const NAL_IDR: u8 = 5;
/// NAL unit type of supplemental enhancement information.
pub const NAL_SEI: u8 = 6;
/// NAL unit type of a sequence parameter set.
pub const NAL_SPS: u8 = 7;
/// NAL unit type of a picture parameter set.
pub const NAL_PPS: u8 = 8;

/// Iterates over the NAL units of an Annex-B buffer, without their start codes.
pub fn nal_units(data: &[u8]) -> NalUnits<'_> {
    NalUnits { data, pos: 0 }
}

/// Iterator returned by [`nal_units`].
#[derive(Debug, Clone)]
pub struct NalUnits<'a> {
    data: &'a [u8],
    pos: usize,
}

fn find_start_code(data: &[u8], from: usize) -> Option<usize> {
    data.get(from..)?
        .windows(3)
        .position(|w| w == [0, 0, 1])
        .map(|p| from + p)
}

impl<'a> Iterator for NalUnits<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        loop {
            let start = find_start_code(self.data, self.pos)? + 3;
            let end = find_start_code(self.data, start).unwrap_or(self.data.len());
            self.pos = end;
            let mut nal = &self.data[start..end];
            // Zero bytes before the next start code belong to it (4-byte start codes).
            while let [rest @ .., 0] = nal {
                nal = rest;
            }
            if !nal.is_empty() {
                return Some(nal);
            }
        }
    }
}

/// The type (low 5 bits of the header byte) of a NAL unit; 0 for an empty one.
pub fn nal_type(nal: &[u8]) -> u8 {
    nal.first().map_or(0, |h| h & 0x1f)
}

/// True if the access unit contains an IDR slice.
pub fn contains_idr(access_unit: &[u8]) -> bool {
    nal_units(access_unit).any(|n| nal_type(n) == NAL_IDR)
}

/// Profile, constraint flags and level from the start of a sequence parameter set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SpsInfo {
    /// `profile_idc`: 66 baseline, 77 main, 100 high.
    pub profile_idc: u8,
    /// The byte holding `constraint_set0_flag` (0x80) … `constraint_set5_flag` (0x04).
    pub constraint_flags: u8,
    /// `level_idc`: ten times the level, e.g. 31 for level 3.1.
    pub level_idc: u8,
}

impl SpsInfo {
    /// Reads an SPS NAL unit (header byte included); `None` if it is not an SPS.
    pub fn parse(nal: &[u8]) -> Option<Self> {
        match nal {
            [h, profile_idc, constraint_flags, level_idc, ..] if h & 0x1f == NAL_SPS => {
                Some(Self {
                    profile_idc: *profile_idc,
                    constraint_flags: *constraint_flags,
                    level_idc: *level_idc,
                })
            }
            _ => None,
        }
    }

    /// The first SPS in an Annex-B access unit, if any.
    pub fn find(access_unit: &[u8]) -> Option<Self> {
        nal_units(access_unit).find_map(Self::parse)
    }

    /// Constrained baseline: profile_idc 66 with constraint_set1_flag, which is what
    /// WebRTC's `42e0xx`/`42c0xx` profile-level-ids denote.
    pub fn is_constrained_baseline(&self) -> bool {
        self.profile_idc == 66 && self.constraint_flags & 0x40 != 0
    }

    /// The three bytes as the hex string used in SDP `profile-level-id`, e.g. `42c01f`.
    pub fn profile_level_id(&self) -> String {
        format!(
            "{:02x}{:02x}{:02x}",
            self.profile_idc, self.constraint_flags, self.level_idc
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_three_and_four_byte_start_codes() {
        let au = [
            0, 0, 0, 1, 0x67, 0x42, 0xc0, 0x1f, 0, 0, 1, 0x68, 0xce, 0, 0, 0, 1, 0x65, 9,
        ];
        let nals: Vec<&[u8]> = nal_units(&au).collect();
        assert_eq!(nals, vec![&au[4..8], &au[11..13], &au[17..]]);
        assert!(contains_idr(&au));
        let sps = SpsInfo::find(&au).unwrap();
        assert!(sps.is_constrained_baseline());
        assert_eq!(sps.profile_level_id(), "42c01f");
    }

    #[test]
    fn garbage_has_no_nals() {
        assert_eq!(nal_units(&[1, 2, 3, 0, 0]).count(), 0);
        assert_eq!(nal_units(&[]).count(), 0);
        assert!(SpsInfo::parse(&[0x65, 1, 2, 3]).is_none());
    }
}
