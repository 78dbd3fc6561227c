//! DTLS certificate fingerprints: extracting `a=fingerprint:sha-256 ...` from an SDP and
//! computing the same string for the certificate the remote actually presented, so the
//! caller can bind a connection to a (signed) SDP.
//!
//! All fingerprints use one canonical form: `sha-256 AA:BB:...` (lower-case algorithm,
//! upper-case hex, colon-separated).

use sha2::{Digest, Sha256};

/// Canonical fingerprint of a DER-encoded certificate: `sha-256 AA:BB:...`.
pub fn certificate_fingerprint(der: &[u8]) -> String {
    let digest = Sha256::digest(der);
    let hex = hex::encode_upper(digest);
    let pairs: Vec<&str> = (0..hex.len()).step_by(2).map(|i| &hex[i..i + 2]).collect();
    format!("sha-256 {}", pairs.join(":"))
}

/// Brings a fingerprint written as `<algorithm> <hex>` into canonical form, or `None` if it
/// is not a well-formed SHA-256 fingerprint (32 colon-separated hex bytes).
pub fn normalize_fingerprint(fingerprint: &str) -> Option<String> {
    let mut parts = fingerprint.split_whitespace();
    let algorithm = parts.next()?;
    let value = parts.next()?;
    if parts.next().is_some() || !algorithm.eq_ignore_ascii_case("sha-256") {
        return None;
    }
    let bytes: Vec<&str> = value.split(':').collect();
    let well_formed = bytes.len() == 32
        && bytes
            .iter()
            .all(|b| b.len() == 2 && b.chars().all(|c| c.is_ascii_hexdigit()));
    well_formed.then(|| format!("sha-256 {}", value.to_ascii_uppercase()))
}

/// The SHA-256 DTLS fingerprint announced in an SDP (`a=fingerprint:sha-256 ...`), at session
/// or media level, in canonical form. `None` if there is none, or if the SDP announces two
/// different SHA-256 fingerprints (which a single BUNDLEd connection never does).
pub fn sdp_fingerprint(sdp: &str) -> Option<String> {
    let mut found: Option<String> = None;
    for line in sdp.lines() {
        let Some(value) = line.trim().strip_prefix("a=fingerprint:") else {
            continue;
        };
        let Some(fingerprint) = normalize_fingerprint(value) else {
            continue; // another algorithm, or malformed
        };
        match &found {
            Some(previous) if *previous != fingerprint => return None,
            _ => found = Some(fingerprint),
        }
    }
    found
}

/// Whether two fingerprints name the same certificate (case- and whitespace-insensitive).
pub fn fingerprints_match(a: &str, b: &str) -> bool {
    match (normalize_fingerprint(a), normalize_fingerprint(b)) {
        (Some(a), Some(b)) => a == b,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FP: &str = "sha-256 4A:AD:B9:B1:3F:82:18:3B:54:02:12:DF:3E:5D:49:6B:19:E5:7C:AB:3B:E4:B2:8E:A9:C0:0E:B2:5C:6B:1C:2D";

    #[test]
    fn certificate_fingerprint_is_canonical() {
        let fp = certificate_fingerprint(b"hello");
        assert_eq!(
            fp,
            "sha-256 2C:F2:4D:BA:5F:B0:A3:0E:26:E8:3B:2A:C5:B9:E2:9E:1B:16:1E:5C:1F:A7:42:5E:73:04:33:62:93:8B:98:24"
        );
        assert_eq!(normalize_fingerprint(&fp), Some(fp));
    }

    #[test]
    fn extracts_session_level_fingerprint() {
        let sdp = format!("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\na=fingerprint:{FP}\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n");
        assert_eq!(sdp_fingerprint(&sdp).as_deref(), Some(FP));
    }

    #[test]
    fn extracts_media_level_fingerprint_in_any_case() {
        let lower = FP.to_ascii_lowercase().replace("sha-256", "SHA-256");
        let sdp = format!("v=0\nm=video 9 UDP/TLS/RTP/SAVPF 102\na=fingerprint:sha-1 AB:CD\na=fingerprint:{lower}\nm=audio 9 UDP/TLS/RTP/SAVPF 111\na=fingerprint:{FP}\n");
        assert_eq!(sdp_fingerprint(&sdp).as_deref(), Some(FP));
    }

    #[test]
    fn rejects_missing_or_conflicting() {
        assert_eq!(sdp_fingerprint("v=0\r\nm=audio 9 RTP/AVP 0\r\n"), None);
        let other = FP.replace("4A:AD", "4A:AE");
        let sdp = format!("a=fingerprint:{FP}\na=fingerprint:{other}\n");
        assert_eq!(sdp_fingerprint(&sdp), None);
        assert_eq!(normalize_fingerprint("sha-256 AB:CD"), None);
        assert_eq!(normalize_fingerprint("md5 AB"), None);
    }

    #[test]
    fn matching_ignores_case() {
        assert!(fingerprints_match(FP, &FP.to_ascii_lowercase()));
        assert!(!fingerprints_match(FP, &FP.replace("2D", "2E")));
        assert!(!fingerprints_match(FP, "garbage"));
    }
}
