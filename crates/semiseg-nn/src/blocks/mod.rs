//! Building blocks shared by the networks.

mod conv;
mod conv3d;
mod mlp_head;
mod perturb;
mod pyramid;
mod res_block;
mod sample_attention;
mod volume;

pub use conv::{ConvBnAct, ConvBnActConfig};
pub use conv3d::{ConvBnRelu3d, ConvBnRelu3dConfig};
pub use mlp_head::MlpHead;
pub use pyramid::encode_pyramid;
pub use res_block::{conv_same, group_norm, DownStep, ResBlock, ResBlockConfig, UpStep, GROUPS};
pub use sample_attention::{SampleAttention, SampleAttentionConfig};
pub use perturb::{always_dropout, feature_dropout, feature_noise, Perturbation};
pub use volume::{dropout3d, max_pool3d_2x, upsample_nearest2x, upsample_trilinear2x};
