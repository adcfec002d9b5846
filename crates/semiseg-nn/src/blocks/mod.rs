//! Building blocks shared by the networks.

mod conv;
mod perturb;
mod pyramid;

pub use conv::{ConvBnAct, ConvBnActConfig};
pub use pyramid::encode_pyramid;
pub use perturb::{always_dropout, feature_dropout, feature_noise, Perturbation};
