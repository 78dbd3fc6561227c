//! Which `/dev/video*` node is a camera, as a pure function of what each node reports.
//!
//! A Raspberry Pi has many video nodes that are not cameras: the codec (`bcm2835-codec`,
//! memory-to-memory), the ISP (`bcm2835-isp`, `pispbe`), and the raw CSI receiver
//! (`unicam` on Pi 1–4, `rp1-cfe` on Pi 5) that delivers Bayer data only libcamera can
//! process. Under `libcamerify` the CSI camera answers as driver `libcamera` and is an
//! ordinary camera.

use std::path::{Path, PathBuf};

use crate::hardware::error::DeviceKind;
use crate::hardware::HardwareError;

/// V4L2 capability: single-planar video capture.
pub const CAP_VIDEO_CAPTURE: u32 = 0x0000_0001;
/// V4L2 capability: multi-planar video capture.
pub const CAP_VIDEO_CAPTURE_MPLANE: u32 = 0x0000_1000;
/// V4L2 capability: multi-planar memory-to-memory (codecs).
pub const CAP_VIDEO_M2M_MPLANE: u32 = 0x0000_4000;
/// V4L2 capability: memory-to-memory (codecs).
pub const CAP_VIDEO_M2M: u32 = 0x0000_8000;
/// V4L2 capability: streaming I/O.
pub const CAP_STREAMING: u32 = 0x0400_0000;

/// What `VIDIOC_QUERYCAP` said about one node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeInfo {
    /// `/dev/videoN`.
    pub path: PathBuf,
    /// Driver name, e.g. `uvcvideo`, `unicam`, `libcamera`.
    pub driver: String,
    /// Card name, e.g. `HD Pro Webcam C920`.
    pub card: String,
    /// The node's `device_caps`.
    pub caps: u32,
}

/// What a node is good for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeKind {
    /// A camera Hearth can read frames from.
    Camera,
    /// A raw CSI receiver that needs libcamera (run under `libcamerify`).
    CsiRaw,
    /// A codec, ISP, metadata or output node.
    Other,
}

/// Drivers of raw CSI receivers.
pub const CSI_DRIVERS: [&str; 2] = ["unicam", "rp1-cfe"];
/// Drivers of Raspberry Pi processing blocks that also expose capture nodes.
const NOT_CAMERAS: [&str; 5] = [
    "bcm2835-isp",
    "pispbe",
    "bcm2835-codec",
    "rpivid",
    "rpi-hevc-dec",
];

/// Classifies one node.
pub fn classify(node: &NodeInfo) -> NodeKind {
    let driver = node.driver.as_str();
    if node.caps & (CAP_VIDEO_M2M | CAP_VIDEO_M2M_MPLANE) != 0 || NOT_CAMERAS.contains(&driver) {
        return NodeKind::Other;
    }
    if CSI_DRIVERS.contains(&driver) {
        return NodeKind::CsiRaw;
    }
    if node.caps & CAP_VIDEO_CAPTURE != 0 && node.caps & CAP_STREAMING != 0 {
        NodeKind::Camera
    } else {
        NodeKind::Other
    }
}

/// Picks the camera for `[video] device = "auto"`: the first camera node by number. With
/// only a raw CSI node, says to use libcamerify; with nothing, says to plug one in.
pub fn pick_camera(nodes: &[NodeInfo]) -> Result<PathBuf, HardwareError> {
    let mut sorted: Vec<&NodeInfo> = nodes.iter().collect();
    sorted.sort_by_key(|n| node_number(&n.path));
    if let Some(camera) = sorted.iter().find(|n| classify(n) == NodeKind::Camera) {
        return Ok(camera.path.clone());
    }
    if let Some(csi) = sorted.iter().find(|n| classify(n) == NodeKind::CsiRaw) {
        return Err(HardwareError::CsiNeedsLibcamera {
            device: csi.path.clone(),
            driver: csi.driver.clone(),
        });
    }
    Err(HardwareError::Missing {
        device: "/dev/video*".into(),
        fix: DeviceKind::Camera.missing_fix(),
    })
}

/// The N of `/dev/videoN`, for sorting (`u32::MAX` if there is none).
pub fn node_number(path: &Path) -> u32 {
    path.file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.strip_prefix("video"))
        .and_then(|n| n.parse().ok())
        .unwrap_or(u32::MAX)
}

/// The `/dev/videoN` nodes that exist, in number order (from sysfs, no device opened).
pub fn video_nodes() -> Vec<PathBuf> {
    let mut nodes: Vec<PathBuf> = std::fs::read_dir("/sys/class/video4linux")
        .map(|dir| {
            dir.filter_map(|e| e.ok())
                .map(|e| Path::new("/dev").join(e.file_name()))
                .filter(|p| node_number(p) != u32::MAX)
                .collect()
        })
        .unwrap_or_default();
    nodes.sort_by_key(|p| node_number(p));
    nodes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(n: u32, driver: &str, caps: u32) -> NodeInfo {
        NodeInfo {
            path: format!("/dev/video{n}").into(),
            driver: driver.into(),
            card: String::new(),
            caps,
        }
    }

    const CAMERA: u32 = CAP_VIDEO_CAPTURE | CAP_STREAMING;

    #[test]
    fn a_pi_with_a_usb_camera_skips_codec_and_isp_nodes() {
        let nodes = [
            node(10, "bcm2835-codec", CAP_VIDEO_M2M_MPLANE | CAP_STREAMING),
            node(13, "bcm2835-isp", CAMERA),
            node(1, "uvcvideo", CAMERA),
        ];
        assert_eq!(pick_camera(&nodes).unwrap(), PathBuf::from("/dev/video1"));
    }

    #[test]
    fn a_lone_csi_sensor_asks_for_libcamerify() {
        let nodes = [
            node(0, "unicam", CAMERA),
            node(11, "bcm2835-codec", CAP_VIDEO_M2M_MPLANE),
        ];
        let err = pick_camera(&nodes).unwrap_err();
        assert!(err.to_string().contains("libcamerify"), "{err}");
        // Under libcamerify the same node reports driver "libcamera".
        assert!(pick_camera(&[node(0, "libcamera", CAMERA)]).is_ok());
    }

    #[test]
    fn no_camera_says_what_to_do() {
        let err = pick_camera(&[]).unwrap_err();
        assert!(err.to_string().contains("connect a USB camera"), "{err}");
    }
}
