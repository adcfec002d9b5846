//! Building blocks shared by the networks.

mod conv;
mod perturb;

pub use conv::{ConvBnAct, ConvBnActConfig};
pub use perturb::{always_dropout, feature_dropout, feature_noise, Perturbation};
