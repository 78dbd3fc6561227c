//! The device: answers approved contacts' calls with the media they may see.

pub mod policy;
