//! Networks, one file each.

pub mod unet;

pub use unet::{UNet, UNetConfig, UNetOutput};
