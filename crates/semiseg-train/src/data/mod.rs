//! From dataset cases to training batches: 2-D samples or whole volumes in memory, the
//! two-stream sampler, augmentation (2-D, and UA-MT's for volumes in `augment3d`), and
//! background workers that prepare batches ahead of the trainer.

pub mod augment;
pub mod augment3d;
pub mod loader;
pub mod prepare;
pub mod sampler;
pub mod training_set;
pub mod volumes;

pub use loader::{Batch, BatchLoader};
pub use prepare::{load_samples, prepare_image, prepare_plane, Sample};
pub use sampler::TwoStreamSampler;
pub use training_set::TrainingSet;
pub use volumes::{load_volumes, VolumeSample};
