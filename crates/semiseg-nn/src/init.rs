//! Re-initialising the convolution weights of a built network, as PyTorch scripts do after
//! construction (SSL4MIS's `kaiming_normal_init_weight` / `xavier_normal_init_weight`). Biases
//! and normalisation parameters keep their values (those scripts set BatchNorm to 1 and 0,
//! Burn's defaults already).

use burn::module::{Module, ModuleMapper, Param};
use burn::prelude::*;
use burn::tensor::Distribution;

/// How convolution weights are drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConvInit {
    /// `torch.nn.init.kaiming_normal_` defaults: std = √2 / √fan_in.
    KaimingNormal,
    /// `torch.nn.init.xavier_normal_`: std = √(2 / (fan_in + fan_out)).
    XavierNormal,
}

struct Redraw(ConvInit);

impl ModuleMapper for Redraw {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        // Only convolution weights are 4-D (or 5-D): [out, in / groups, k...]
        if D < 4 {
            return param;
        }
        let dims = param.shape().dims::<D>();
        let receptive: usize = dims[2..].iter().product();
        let (fan_in, fan_out) = ((dims[1] * receptive) as f64, (dims[0] * receptive) as f64);
        let std = match self.0 {
            ConvInit::KaimingNormal => (2.0 / fan_in).sqrt(),
            ConvInit::XavierNormal => (2.0 / (fan_in + fan_out)).sqrt(),
        };
        param.map(|t| {
            let fresh = Tensor::<D>::random(t.shape(), Distribution::Normal(0.0, std), &t.device());
            // a new tensor is no leaf of the graph: without this the weight would never train
            if t.is_require_grad() { fresh.require_grad() } else { fresh }
        })
    }
}

/// `module` with every convolution weight drawn anew from `init` (on the device's RNG).
pub fn reinit_convs<M: Module>(module: M, init: ConvInit) -> M {
    module.map(&mut Redraw(init))
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::nn::conv::Conv2dConfig;

    #[test]
    fn weights_get_the_pytorch_standard_deviations() {
        let device = Device::flex().autodiff(); // the training device, as CPS builds on
        device.seed(3);
        let conv = Conv2dConfig::new([64, 32], [3, 3]).init(&device);
        let bias_before = conv.bias.as_ref().unwrap().val().into_data();
        for (init, want) in [(ConvInit::KaimingNormal, (2.0f64 / 576.0).sqrt()), (ConvInit::XavierNormal, (2.0f64 / (576.0 + 288.0)).sqrt())] {
            let c = reinit_convs(conv.clone(), init);
            let w = c.weight.val();
            let n = w.shape().num_elements() as f64;
            let var = w.powi_scalar(2).sum().into_scalar::<f32>() as f64 / n;
            assert!((var.sqrt() / want - 1.0).abs() < 0.05, "{init:?}: std {} vs {want}", var.sqrt());
            assert_eq!(c.bias.as_ref().unwrap().val().into_data(), bias_before, "biases untouched");
            assert!(c.weight.val().is_require_grad(), "{init:?}: the redrawn weight still trains");
        }
    }
}
