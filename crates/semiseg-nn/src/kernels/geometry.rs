//! The shape of one convolution, with 2-D convolutions as 3-D ones of depth 1.

/// Sizes and steps of a convolution without groups `[N, C, D, H, W]` → `[N, O, Do, Ho, Wo]`
/// (grouped ones, MGCC's depthwise convolutions, stay on Burn's kernels).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConvGeometry {
    /// Batch size.
    pub batch: usize,
    /// Input channels `C`.
    pub in_channels: usize,
    /// Output channels `O`.
    pub out_channels: usize,
    /// Input size `[D, H, W]`.
    pub input: [usize; 3],
    /// Kernel size `[kd, kh, kw]`.
    pub kernel: [usize; 3],
    /// Stride per axis.
    pub stride: [usize; 3],
    /// Zero padding on both sides, per axis.
    pub padding: [usize; 3],
    /// Spacing between kernel taps, per axis (1: adjacent; MGCC's attention gates use 2).
    pub dilation: [usize; 3],
}

impl ConvGeometry {
    /// Output size `[Do, Ho, Wo]`, as PyTorch computes it.
    pub fn output(&self) -> [usize; 3] {
        std::array::from_fn(|a| (self.input[a] + 2 * self.padding[a] - self.span(a)) / self.stride[a] + 1)
    }

    /// Extent of the dilated kernel along axis `a`: `dilation·(k − 1) + 1`.
    pub fn span(&self, a: usize) -> usize {
        self.dilation[a] * (self.kernel[a] - 1) + 1
    }

    /// Input voxels per channel.
    pub fn input_volume(&self) -> usize {
        self.input.iter().product()
    }

    /// Output voxels per channel (the GEMM's `P`).
    pub fn output_volume(&self) -> usize {
        self.output().iter().product()
    }

    /// Kernel taps per input channel.
    pub fn kernel_volume(&self) -> usize {
        self.kernel.iter().product()
    }

    /// Rows of the im2col matrix (the GEMM's `K`): one per input channel and kernel tap, in the
    /// order of the weight tensor `[O, C, kd, kh, kw]`.
    pub fn patch_len(&self) -> usize {
        self.in_channels * self.kernel_volume()
    }

    /// A 1×1×1 kernel without stride or padding reads the input as its own im2col matrix.
    pub fn is_pointwise(&self) -> bool {
        self.kernel == [1, 1, 1] && self.stride == [1, 1, 1] && self.padding == [0, 0, 0]
    }

    /// Panics with the reason when the kernel does not fit the padded input.
    pub fn check(&self) {
        for a in 0..3 {
            assert!(self.stride[a] > 0 && self.dilation[a] > 0, "convolution stride and dilation must be positive");
            assert!(
                self.kernel[a] > 0 && self.span(a) <= self.input[a] + 2 * self.padding[a],
                "convolution kernel {:?} (dilation {:?}) larger than the padded input {:?} (padding {:?})",
                self.kernel,
                self.dilation,
                self.input,
                self.padding
            );
        }
    }
}
