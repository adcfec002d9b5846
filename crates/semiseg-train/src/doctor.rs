//! Is training right on this device? One training step of a network on the CPU (the reference:
//! semiseg's kernels, checked against PyTorch) and on the device, from the same weights and
//! batch, compared tensor by tensor: the loss, every parameter's gradient, and BatchNorm's
//! running statistics after the step. `semiseg doctor` prints the result; the wgpu tests run it
//! on lavapipe at real patch sizes.
//!
//! Each network gets a deterministic loss that reaches all its trained parameters (the CE + soft
//! Dice of `../shared/reference/torch_bench.py` on its segmentation outputs, plus a fixed
//! weighted mean of its projections or features, [`probe`]), with dropout off, so that both
//! devices compute the same function.
//!
//! Tolerances ([`Tolerance`]): each gradient tensor within 1e-3 of its own largest value, the
//! loss within 1e-4, running statistics within 1e-5. Some steps are ill-conditioned in f32 (batch
//! norm over few values per channel, as in the deepest level of a V-Net at 32³): there any two
//! correct f32 computations disagree by more. So the CPU also runs the step three times with its
//! input moved by one rounding step, and a tensor may differ by up to 10× the largest change
//! that caused (its rounding floor) where that is more than the fixed tolerance; the report
//! prints both.

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param};
use burn::optim::GradientsParams;
use burn::prelude::*;
use burn::tensor::activation::{log_softmax, softmax};
use burn::tensor::{Distribution, TensorData};
use semiseg_nn::nets::*;
use semiseg_nn::params::is_running_stat;
use std::time::Instant;

/// The networks `doctor` knows, in the order it checks them.
pub const NETWORKS: [&str; 8] = ["unet2d", "clcc", "mgcc", "vnet", "caml", "fbanet", "vae", "denoiser"];

/// What to check: a network at a batch and spatial size.
#[derive(Debug, Clone)]
pub struct Check {
    /// One of [`NETWORKS`].
    pub network: String,
    /// Spatial size: `[H, W]` for 2-D networks, `[H, W, D]` for 3-D ones.
    pub size: Vec<usize>,
    /// Samples in the batch.
    pub batch: usize,
    /// Run one untimed step on each side first (kernel compilation, caches).
    pub warmup: bool,
}

impl Check {
    /// `network` at the small size `doctor` checks by default: real widths, batch 2, and a size
    /// that keeps at least 8 values per channel in every batch norm (over fewer, normalising
    /// turns float rounding into gradient differences of 1e-3 and more on any two devices).
    pub fn small(network: &str) -> Check {
        let size = match network {
            "vnet" | "caml" | "fbanet" => vec![32, 32, 32],
            "denoiser" => vec![8, 8],
            // the projection head ends on one cell per 64² region
            "clcc" => vec![128, 128],
            _ => vec![64, 64],
        };
        Check { network: network.to_string(), size, batch: 2, warmup: true }
    }
}

/// How far the device may be from the CPU.
#[derive(Debug, Clone, Copy)]
pub struct Tolerance {
    /// Each gradient tensor: largest difference over that tensor's own largest |value|.
    pub gradient: f32,
    /// The loss, relative.
    pub loss: f32,
    /// Each running statistic, relative to its largest |value|.
    pub running: f32,
    /// A gradient tensor whose largest |value| is below this share of the network's largest is
    /// zero in exact arithmetic (e.g. a convolution bias before batch norm) and rounding noise on
    /// both devices; it is judged against the network's largest gradient instead.
    pub vanishing: f32,
    /// How many times its rounding floor ([`Gap::floor`]) a tensor may differ by where that is
    /// more than the fixed tolerance.
    pub floor_factor: f32,
}

impl Default for Tolerance {
    fn default() -> Self {
        Tolerance { gradient: 1e-3, loss: 1e-4, running: 1e-5, vanishing: 1e-4, floor_factor: 10.0 }
    }
}

/// One named tensor on both sides.
#[derive(Debug, Clone)]
pub struct Gap {
    /// Module path, e.g. `encoder.down1.conv.0.weight`.
    pub name: String,
    /// The CPU tensor's largest |value|.
    pub largest: f32,
    /// The largest |CPU − device| over its elements (infinite if the device gave non-finite
    /// values or another shape).
    pub difference: f32,
    /// The rounding floor: the largest change of the CPU's own result when the input moves by
    /// one rounding step (×(1 ± 2⁻²³): all up, all down, and each element up or down at random).
    /// Where a step is ill-conditioned, any two f32 computations differ by about this much.
    pub floor: f32,
}

impl Gap {
    /// `difference / largest` (the difference itself where the tensor is all zeros).
    pub fn relative(&self) -> f32 {
        if self.largest > 0.0 {
            self.difference / self.largest
        } else {
            self.difference
        }
    }
}

/// One side's step.
#[derive(Debug, Clone)]
pub struct Side {
    /// The loss.
    pub loss: f32,
    /// Seconds for the forward and backward pass (after the warm-up step, if any).
    pub seconds: f64,
    /// Bytes: the CPU's peak resident memory during the step, or the memory the device's pools
    /// reserved for it; `None` where the platform does not say.
    pub memory: Option<u64>,
}

/// Both sides of one check.
#[derive(Debug, Clone)]
pub struct Report {
    /// The check.
    pub check: Check,
    /// The CPU side.
    pub cpu: Side,
    /// The device side.
    pub device: Side,
    /// Every parameter gradient, in visiting order.
    pub gradients: Vec<Gap>,
    /// Every BatchNorm running statistic after the step.
    pub running: Vec<Gap>,
}

impl Report {
    /// `|loss_cpu − loss_device| / max(|loss_cpu|, 1)`.
    pub fn loss_gap(&self) -> f32 {
        (self.cpu.loss - self.device.loss).abs() / self.cpu.loss.abs().max(1.0)
    }

    /// The largest gradient of the network (CPU).
    pub fn network_largest(&self) -> f32 {
        self.gradients.iter().map(|g| g.largest).fold(0.0, f32::max)
    }

    /// Whether a gradient tensor is zero in exact arithmetic (see [`Tolerance::vanishing`]).
    pub fn is_vanishing(&self, gap: &Gap, tol: &Tolerance) -> bool {
        gap.largest < tol.vanishing * self.network_largest()
    }

    /// What a gradient's differences are relative to: its own largest value, or the network's
    /// for a vanishing one.
    fn scale(&self, gap: &Gap, tol: &Tolerance) -> f32 {
        if self.is_vanishing(gap, tol) {
            self.network_largest().max(f32::MIN_POSITIVE)
        } else if gap.largest > 0.0 {
            gap.largest
        } else {
            1.0
        }
    }

    /// A gradient's gap relative to [`Report::scale`].
    pub fn judged_gap(&self, gap: &Gap, tol: &Tolerance) -> f32 {
        gap.difference / self.scale(gap, tol)
    }

    /// A gradient's rounding floor, relative as [`Report::judged_gap`].
    pub fn judged_floor(&self, gap: &Gap, tol: &Tolerance) -> f32 {
        gap.floor / self.scale(gap, tol)
    }

    /// The gap a gradient may reach: the fixed tolerance, or `floor_factor` × its rounding
    /// floor where that is larger.
    pub fn allowed(&self, gap: &Gap, tol: &Tolerance) -> f32 {
        tol.gradient.max(tol.floor_factor * self.judged_floor(gap, tol))
    }

    /// The gradients, worst first: by their gap over the gap [`Report::allowed`].
    pub fn worst_gradients(&self, tol: &Tolerance) -> Vec<&Gap> {
        let mut all: Vec<&Gap> = self.gradients.iter().collect();
        let badness = |g: &Gap| self.judged_gap(g, tol) / self.allowed(g, tol);
        all.sort_by(|a, b| badness(b).total_cmp(&badness(a)));
        all
    }

    /// What exceeds its tolerance, one line each; empty when the device is right.
    pub fn failures(&self, tol: &Tolerance) -> Vec<String> {
        let mut out = Vec::new();
        if !(self.loss_gap() <= tol.loss) {
            out.push(format!("loss {} on the CPU, {} on the device (relative gap {:.1e} > {:.0e})", self.cpu.loss, self.device.loss, self.loss_gap(), tol.loss));
        }
        for g in &self.gradients {
            let (gap, allowed) = (self.judged_gap(g, tol), self.allowed(g, tol));
            if !(gap <= allowed) {
                let of = if self.is_vanishing(g, tol) { "of the network's largest gradient" } else { "of its largest value" };
                out.push(format!("gradient of {}: differs by {gap:.1e} {of} (> {allowed:.1e}; rounding floor {:.1e})", g.name, self.judged_floor(g, tol)));
            }
        }
        for r in &self.running {
            let allowed = tol.running.max(tol.floor_factor * r.floor / r.largest.max(f32::MIN_POSITIVE));
            if !(r.relative() <= allowed) {
                out.push(format!("running statistic {}: differs by {:.1e} of its largest value (> {allowed:.1e})", r.name, r.relative()));
            }
        }
        out
    }
}

/// CE + soft Dice (ε 1e-5) of two-class logits `[N, 2, …]` against a fixed mask (about 6 voxels
/// in 13 foreground), torch_bench.py's segmentation loss.
pub fn ce_dice<const D: usize>(logits: Tensor<D>) -> Tensor<1> {
    let dims = logits.dims();
    let device = logits.device();
    let n: usize = dims.iter().skip(2).product::<usize>() * dims[0];
    let fg: Vec<f32> = (0..n).map(|i| ((i * 7) % 13 < 6) as u8 as f32).collect();
    let mut shape = dims;
    shape[1] = 1;
    let y = Tensor::<D>::from_data(TensorData::new(fg, shape), &device);
    let one_hot = Tensor::cat(vec![y.clone().neg().add_scalar(1.0), y.clone()], 1);
    let ce = -(log_softmax(logits.clone(), 1) * one_hot).sum().div_scalar(n as f64);
    let p = softmax(logits, 1).narrow(1, 1, 1);
    let dice = ((p.clone() * y.clone()).sum() * 2.0 + 1e-5) / (p.sum() + y.sum() + 1e-5);
    ce - dice + 1.0
}

/// A fixed weighted mean of `t` (weights cos(0.7·i), a different one for every element), to
/// give features and projections a gradient. Not `mean(t²)`: its gradient is linear in a batch
/// norm's output, which that norm's backward pass then cancels almost exactly, leaving rounding
/// noise as the gradient of every layer before it.
pub fn probe<const D: usize>(t: Tensor<D>) -> Tensor<1> {
    let shape = t.dims();
    let n: usize = shape.iter().product();
    let weights: Vec<f32> = (0..n).map(|i| (0.7 * i as f32).cos()).collect();
    (t.clone() * Tensor::<D>::from_data(TensorData::new(weights, shape), &t.device())).mean()
}

/// [`ce_dice`] of a one-logit network (the logit against 0).
pub fn bce_dice(logits: Tensor<4>) -> Tensor<1> {
    ce_dice(Tensor::cat(vec![logits.zeros_like(), logits], 1))
}

/// The parameters' gradients and the running statistics of `net`, named by module path.
struct Collect<'a> {
    grads: &'a GradientsParams,
    path: Vec<String>,
    gradients: Vec<(String, Vec<f32>)>,
    running: Vec<(String, Vec<f32>)>,
}

fn host(t: TensorData) -> Vec<f32> {
    t.convert::<f32>().try_into_vec::<f32>().unwrap_or_default()
}

impl ModuleVisitor for Collect<'_> {
    fn enter_module(&mut self, name: &str, _container_type: &str) {
        self.path.push(name.to_string());
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.pop();
    }

    fn visit_float<const D: usize>(&mut self, p: &Param<Tensor<D>>) {
        let name = self.path.join(".");
        if is_running_stat(&self.path) {
            self.running.push((name, host(p.val().into_data())));
        } else if let Some(g) = self.grads.get::<D>(p.id) {
            self.gradients.push((name, host(g.into_data())));
        }
    }
}

/// Re-draws every parameter that starts at all zeros (N(0, 0.02²)), running statistics aside: a
/// zero-initialised output layer (the denoiser's) would stop the gradient from reaching the
/// layers before it, and the check would test that layer alone.
struct RedrawZeros {
    path: Vec<String>,
}

impl ModuleMapper for RedrawZeros {
    fn enter_module(&mut self, name: &str, _container_type: &str) {
        self.path.push(name.to_string());
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.pop();
    }

    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        if is_running_stat(&self.path) {
            return param;
        }
        param.map(|t| {
            let zero = t.clone().abs().max().into_scalar::<f32>() == 0.0;
            if !zero {
                return t;
            }
            let fresh = Tensor::random(t.shape(), Distribution::Normal(0.0, 0.02), &t.device());
            // a new tensor is no leaf of the graph unless it asks to be
            if t.is_require_grad() { fresh.require_grad() } else { fresh }
        })
    }
}

/// What one side measured: loss, seconds, memory, named gradients and running statistics.
type Measured = (Side, Vec<(String, Vec<f32>)>, Vec<(String, Vec<f32>)>);

fn measure<M: Module, const D: usize>(net: &M, x: Tensor<D>, loss: &dyn Fn(&M, Tensor<D>) -> Tensor<1>, device: &Device) -> Result<Measured, String> {
    semiseg_nn::device::reset_peak_memory(device);
    let start = Instant::now();
    let l = loss(net, x);
    let value = l.clone().into_scalar::<f32>();
    let grads = GradientsParams::from_grads(l.backward(), net);
    device.sync().map_err(|e| format!("the device failed: {e:?}"))?;
    let seconds = start.elapsed().as_secs_f64();
    let memory = semiseg_nn::device::peak_memory(device);
    // `valid` syncs the running statistics (an update waits per thread until then) and keeps
    // the parameter ids the gradients are filed under
    let mut c = Collect { grads: &grads, path: Vec::new(), gradients: Vec::new(), running: Vec::new() };
    net.valid().visit(&mut c);
    Ok((Side { loss: value, seconds, memory }, c.gradients, c.running))
}

/// The largest |a − b| (infinite for another length or a non-finite `b`).
fn largest_difference(a: &[f32], b: &[f32]) -> f32 {
    if a.len() != b.len() {
        return f32::INFINITY;
    }
    a.iter().zip(b).fold(0f32, |m, (p, q)| if q.is_finite() { m.max((p - q).abs()) } else { f32::INFINITY })
}

/// Named tensors of the CPU, of the CPU with its input moved by one rounding step (several
/// ways), and of the device.
fn gaps(cpu: Vec<(String, Vec<f32>)>, jittered: &[Vec<(String, Vec<f32>)>], other: Vec<(String, Vec<f32>)>, what: &str) -> Result<Vec<Gap>, String> {
    if cpu.len() != other.len() {
        return Err(format!("{} {what} on the CPU, {} on the device", cpu.len(), other.len()));
    }
    Ok(cpu
        .into_iter()
        .zip(other)
        .enumerate()
        .map(|(k, ((name, a), (_, b)))| {
            let largest = a.iter().fold(0f32, |m, v| m.max(v.abs()));
            let floor = jittered.iter().map(|j| largest_difference(&a, &j[k].1)).fold(0f32, f32::max);
            Gap { name, largest, difference: largest_difference(&a, &b), floor }
        })
        .collect())
}

/// One step on each side, from one set of weights drawn on the CPU: each side loads them into a
/// network of its own (so the two share no running statistics), the second moved to `device`.
fn compare<M: Module + Clone, const D: usize>(check: &Check, device: &Device, build: impl Fn(&Device) -> M, shape: [usize; D], loss: impl Fn(&M, Tensor<D>) -> Tensor<1>) -> Result<Report, String> {
    let cpu = Device::flex().autodiff();
    cpu.seed(11);
    // Burn initialises parameters lazily, on first use, from the RNG of the device they are on
    // then: taking the record draws them all here, on the CPU
    let weights = build(&cpu).map(&mut RedrawZeros { path: Vec::new() }).into_record();
    let make = || build(&cpu).load_record(weights.clone());
    let x = Tensor::<D>::random(shape, Distribution::Normal(0.0, 1.0), &cpu);
    let on_device = device.clone().autodiff();
    let mut sides = Vec::new();
    for side in [&cpu, &on_device] {
        let net = make().fork(side);
        let input = Tensor::<D>::from_data(x.to_data(), side);
        if check.warmup {
            // a copy: the warm-up must not move the running statistics of the measured step
            measure(&make().fork(side), input.clone(), &loss, side)?;
        }
        sides.push(measure(&net, input, &loss, side)?);
    }
    let (dev, cpu_side) = (sides.pop().expect("two sides"), sides.pop().expect("two sides"));
    // the rounding floor: the CPU again, its input moved by one rounding step up, down, and up
    // or down at random per element
    let eps = f64::from(f32::EPSILON);
    let signs = Tensor::<D>::random(shape, Distribution::Bernoulli(0.5), &cpu).mul_scalar(2.0 * eps).add_scalar(1.0 - eps);
    let mut grads_j = Vec::new();
    let mut stats_j = Vec::new();
    for input in [x.clone().mul_scalar(1.0 + eps), x.clone().mul_scalar(1.0 - eps), x.clone() * signs] {
        let (_, g, r) = measure(&make(), input, &loss, &cpu)?;
        grads_j.push(g);
        stats_j.push(r);
    }
    Ok(Report {
        check: check.clone(),
        gradients: gaps(cpu_side.1, &grads_j, dev.1, "parameters with a gradient")?,
        running: gaps(cpu_side.2, &stats_j, dev.2, "running statistics")?,
        cpu: cpu_side.0,
        device: dev.0,
    })
}

fn size2(check: &Check) -> Result<[usize; 2], String> {
    match check.size.as_slice() {
        [h, w] => Ok([*h, *w]),
        other => Err(format!("{} is 2-D: --size takes H or HxW, got {other:?}", check.network)),
    }
}

fn size3(check: &Check) -> Result<[usize; 3], String> {
    match check.size.as_slice() {
        [h, w, d] => Ok([*h, *w, *d]),
        other => Err(format!("{} is 3-D: --size takes HxWxD, got {other:?}", check.network)),
    }
}

/// Runs `check` on the CPU and on `device` (a plain device; the step wraps it in autodiff).
pub fn run(check: &Check, device: &Device) -> Result<Report, String> {
    let n = check.batch;
    if n == 0 {
        return Err("--batch must be positive".into());
    }
    match check.network.as_str() {
        "unet2d" => {
            let [h, w] = size2(check)?;
            compare(check, device, |d| UNetConfig::new().with_dropout(false).init(d), [n, 1, h, w], |net, x| ce_dice(net.forward(x)))
        }
        "clcc" => {
            let [h, w] = size2(check)?;
            compare(check, device, |d| ProjUNetConfig::new().init(d), [n, 3, h, w], |net, x| {
                let (logits, q) = net.forward_with_projection(x);
                bce_dice(logits) + probe(q)
            })
        }
        "mgcc" => {
            let [h, w] = size2(check)?;
            // the main path: the auxiliary decoders' perturbations are random
            compare(check, device, |d| MgccConfig::new().init(d), [n, 3, h, w], |net, x| bce_dice(net.forward(x)))
        }
        "vnet" => {
            let [h, w, d] = size3(check)?;
            compare(check, device, |dev| VNetConfig::new().with_dropout(false).init(dev), [n, 1, h, w, d], |net, x| ce_dice(net.forward(x)))
        }
        "caml" => {
            let [h, w, d] = size3(check)?;
            compare(check, device, |dev| CamlConfig::new().with_dropout(false).with_attention_dropout(0.0).init(dev), [n, 1, h, w, d], |net, x| {
                let out = net.forward_both(x);
                ce_dice(out.logits_v) + ce_dice(out.logits_a) + probe(out.features_v) + probe(out.features_a)
            })
        }
        "fbanet" => {
            let [h, w, d] = size3(check)?;
            compare(check, device, |dev| FbaNetConfig::new([h, w, d]).with_dropout(false).init(dev), [n, 1, h, w, d], |net, x| {
                let out = net.forward_all(x);
                let contrast = out.foreground.into_iter().chain(out.background).map(probe).reduce(|a, b| a + b).expect("three heads");
                out.logits.into_iter().map(ce_dice).reduce(|a, b| a + b).expect("three decoders") + contrast
            })
        }
        "vae" => {
            let [h, w] = size2(check)?;
            compare(check, device, |d| VaeConfig::new().init(d), [n, 3, h, w], |net, x| {
                let (mean, log_var) = net.moments(x.clone());
                (net.decode(mean) - x).powf_scalar(2.0).mean() + probe(log_var.exp())
            })
        }
        "denoiser" => {
            let [h, w] = size2(check)?;
            let steps: Vec<usize> = (0..n).map(|i| 3 + 697 * i % 1000).collect();
            compare(check, device, |d| DenoiserConfig::new().init(d), [n, 8, h, w], move |net, x| probe(net.forward(x, &steps, None)))
        }
        other => Err(format!("unknown network '{other}': expected one of {}", NETWORKS.join(", "))),
    }
}
