//! Building blocks shared by the networks.

mod conv;
mod perturb;
mod pyramid;
mod res_block;

pub use conv::{ConvBnAct, ConvBnActConfig};
pub use pyramid::encode_pyramid;
pub use res_block::{conv_same, group_norm, DownStep, ResBlock, ResBlockConfig, UpStep, GROUPS};
pub use perturb::{always_dropout, feature_dropout, feature_noise, Perturbation};
