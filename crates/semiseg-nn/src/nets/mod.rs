//! Networks, one file each, and the inference view of any of them.

pub mod caml;
pub mod denoiser;
pub mod fbanet;
pub mod mgcc;
pub mod proj_unet;
pub mod segmenter;
pub mod unet;
pub mod vae;
pub mod vnet;

pub use caml::{Caml, CamlConfig, CamlOutput};
pub use fbanet::{ContrastHead, FbaNet, FbaNetConfig, FbaNetOutput};
pub use denoiser::{sinusoidal_embedding, Denoiser, DenoiserConfig};
pub use mgcc::{Mgcc, MgccConfig, MgccOutput};
pub use proj_unet::{unused_proj_center, ProjUNet, ProjUNetConfig, PROJ_STRIDE};
pub use segmenter::{two_class, Segmenter};
pub use unet::{is_cct_unet_state, UNet, UNetConfig, UNetOutput};
pub use vae::{Vae, VaeConfig, VaeOutput};
pub use vnet::{is_flat_vnet_state, UpKind, VDecoder, VEncoder, VNet, VNetConfig, VNetOutput};
