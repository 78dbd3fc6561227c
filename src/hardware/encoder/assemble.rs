//! Turning the buffers a hardware encoder hands back into one access unit per frame.
//!
//! A V4L2 encoder may return the sequence headers (SPS and PPS) in a buffer of their
//! own before the first frame, and may or may not repeat them before later IDRs. WebRTC
//! viewers need SPS and PPS in front of every IDR (a viewer joining later starts there),
//! so headers are held back and put in front of the next picture, and remembered ones
//! are put in front of any IDR that comes without.

use bytes::{Bytes, BytesMut};

use crate::media::h264::annexb::{nal_type, nal_units, NAL_IDR, NAL_PPS, NAL_SLICE, NAL_SPS};

/// Collects encoder output into access units; see the module documentation.
#[derive(Debug, Default)]
pub struct Assembler {
    pending: BytesMut,
    parameter_sets: Option<Bytes>,
}

/// One complete frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessUnit {
    /// Annex-B bytes, SPS and PPS first if it is an IDR.
    pub data: Bytes,
    /// Whether it contains an IDR slice.
    pub keyframe: bool,
}

impl Assembler {
    /// A fresh assembler.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one output buffer; returns a frame once a buffer holds a picture.
    pub fn push(&mut self, buffer: &[u8]) -> Option<AccessUnit> {
        self.pending.extend_from_slice(buffer);
        let has_picture =
            nal_units(&self.pending).any(|n| matches!(nal_type(n), NAL_SLICE | NAL_IDR));
        if !has_picture {
            return None;
        }
        let au = self.pending.split().freeze();
        let keyframe = nal_units(&au).any(|n| nal_type(n) == NAL_IDR);
        if !keyframe {
            return Some(AccessUnit { data: au, keyframe });
        }
        if nal_units(&au).any(|n| nal_type(n) == NAL_SPS) {
            let mut sets = BytesMut::new();
            for nal in nal_units(&au).filter(|n| matches!(nal_type(n), NAL_SPS | NAL_PPS)) {
                sets.extend_from_slice(&[0, 0, 0, 1]);
                sets.extend_from_slice(nal);
            }
            self.parameter_sets = Some(sets.freeze());
            return Some(AccessUnit { data: au, keyframe });
        }
        let data = match &self.parameter_sets {
            Some(sets) => {
                let mut out = BytesMut::with_capacity(sets.len() + au.len());
                out.extend_from_slice(sets);
                out.extend_from_slice(&au);
                out.freeze()
            }
            None => au,
        };
        Some(AccessUnit { data, keyframe })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPS: &[u8] = &[0, 0, 0, 1, 0x67, 0x42, 0xc0, 0x1f, 0xaa];
    const PPS: &[u8] = &[0, 0, 0, 1, 0x68, 0xce, 0x3c, 0x80];
    const IDR: &[u8] = &[0, 0, 0, 1, 0x65, 0x88, 0x84];
    const P: &[u8] = &[0, 0, 0, 1, 0x41, 0x9a, 0x02];

    #[test]
    fn headers_in_their_own_buffer_go_in_front_of_the_first_idr() {
        let mut a = Assembler::new();
        assert_eq!(a.push(&[SPS, PPS].concat()), None);
        let first = a.push(IDR).unwrap();
        assert!(first.keyframe);
        assert_eq!(&first.data[..], &[SPS, PPS, IDR].concat()[..]);
        let p = a.push(P).unwrap();
        assert!(!p.keyframe);
        assert_eq!(&p.data[..], P);
        // A later IDR without headers gets the remembered ones.
        let again = a.push(IDR).unwrap();
        assert_eq!(&again.data[..], &[SPS, PPS, IDR].concat()[..]);
    }
}
