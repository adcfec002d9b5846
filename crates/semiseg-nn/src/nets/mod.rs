//! Networks, one file each.

pub mod mgcc;
pub mod unet;

pub use mgcc::{Mgcc, MgccConfig, MgccOutput};
pub use unet::{UNet, UNetConfig, UNetOutput};
