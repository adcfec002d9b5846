//! A checked front to `gemm::gemm` for strided row-major views (crate-private: the kernels are
//! its only callers, and every call is checked for bounds and for a destination whose
//! elements do not overlap, since the GEMM writes them from several threads).

/// A read-only matrix view: element `(i, j)` at `data[i·row_stride + j·col_stride]`.
#[derive(Clone, Copy)]
pub struct MatRef<'a> {
    /// The storage.
    pub data: &'a [f32],
    /// Step between rows.
    pub row_stride: usize,
    /// Step between columns.
    pub col_stride: usize,
}

impl<'a> MatRef<'a> {
    /// A contiguous row-major matrix with `cols` columns.
    pub fn rows(data: &'a [f32], cols: usize) -> Self {
        Self { data, row_stride: cols, col_stride: 1 }
    }

    /// The transpose of a contiguous row-major matrix with `cols` columns.
    pub fn transposed(data: &'a [f32], cols: usize) -> Self {
        Self { data, row_stride: 1, col_stride: cols }
    }

    fn check(&self, rows: usize, cols: usize) {
        if rows > 0 && cols > 0 {
            assert!((rows - 1) * self.row_stride + (cols - 1) * self.col_stride < self.data.len(), "matrix view out of bounds");
        }
    }
}

/// Products at least this large use the rayon pool inside the GEMM (Flex's own threshold).
const PARALLEL_WORK: usize = 192 * 192 * 192;

/// `dst[m×n] (+)= lhs[m×k] · rhs[k×n]`, with `dst` row-major of row stride `dst_row_stride`.
/// Adds to `dst` when `accumulate`, overwrites it otherwise. `parallel` lets a large product
/// use the rayon pool.
pub fn matmul(dst: &mut [f32], dst_row_stride: usize, lhs: MatRef, rhs: MatRef, mkn: [usize; 3], accumulate: bool, parallel: bool) {
    matmul_strided(dst, [dst_row_stride, 1], lhs, rhs, mkn, accumulate, parallel)
}

/// [`matmul`] into a destination with any strides `[row, column]` (a transposed one, say).
#[allow(clippy::too_many_arguments)]
pub fn matmul_strided(
    dst: &mut [f32],
    [dst_row_stride, dst_col_stride]: [usize; 2],
    lhs: MatRef,
    rhs: MatRef,
    [m, k, n]: [usize; 3],
    accumulate: bool,
    parallel: bool,
) {
    if m == 0 || n == 0 {
        return;
    }
    assert!((m - 1) * dst_row_stride + (n - 1) * dst_col_stride < dst.len(), "destination out of bounds");
    assert!(distinct_elements([m, n], [dst_row_stride, dst_col_stride]), "destination strides {dst_row_stride}, {dst_col_stride} overlap for {m}x{n}: threads would race on shared elements");
    lhs.check(m, k);
    rhs.check(k, n);
    if k == 0 {
        if !accumulate {
            (0..m).for_each(|i| (0..n).for_each(|j| dst[i * dst_row_stride + j * dst_col_stride] = 0.0));
        }
        return;
    }
    let parallelism = if parallel && m * n * k >= PARALLEL_WORK { gemm::Parallelism::Rayon(0) } else { gemm::Parallelism::None };
    // SAFETY: every index touched lies inside the slices (checked above), and `dst` is borrowed
    // mutably while the inputs are shared borrows, so they cannot alias it.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            dst_col_stride as isize,
            dst_row_stride as isize,
            accumulate,
            lhs.data.as_ptr(),
            lhs.col_stride as isize,
            lhs.row_stride as isize,
            rhs.data.as_ptr(),
            rhs.col_stride as isize,
            rhs.row_stride as isize,
            1.0,
            1.0,
            false,
            false,
            false,
            parallelism,
        );
    }
}

/// Whether a `[rows, cols]` view with `strides` puts every element at its own offset: the
/// smaller stride's extent must fit inside one step of the larger (a zero stride over more
/// than one element never does).
fn distinct_elements([rows, cols]: [usize; 2], [row_stride, col_stride]: [usize; 2]) -> bool {
    match (rows > 1, cols > 1) {
        (false, false) => true,
        (true, false) => row_stride > 0,
        (false, true) => col_stride > 0,
        (true, true) => {
            let (inner, inner_len, outer) = if col_stride <= row_stride { (col_stride, cols, row_stride) } else { (row_stride, rows, col_stride) };
            inner > 0 && outer >= inner * inner_len
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlapping_destinations_are_refused() {
        assert!(distinct_elements([5, 6], [6, 1]) && distinct_elements([5, 6], [1, 5]) && distinct_elements([5, 6], [9, 1]));
        assert!(!distinct_elements([5, 6], [1, 1]), "rows one element apart overlap");
        assert!(!distinct_elements([5, 6], [4, 1]), "rows shorter than their six columns");
        assert!(!distinct_elements([5, 6], [0, 1]) && !distinct_elements([1, 6], [3, 0]));
        assert!(distinct_elements([1, 1], [0, 0]) && distinct_elements([1, 6], [0, 1]));
        let (a, b) = (vec![1.0; 4], vec![1.0; 4]);
        let mut dst = vec![0.0; 8];
        let raced = std::panic::catch_unwind(move || matmul_strided(&mut dst, [1, 1], MatRef::rows(&a, 2), MatRef::rows(&b, 2), [2, 2, 2], false, true));
        assert!(raced.is_err(), "an overlapping destination must panic before the GEMM runs");
    }

    #[test]
    fn strided_products_match_the_definition() {
        let (m, k, n) = (5, 7, 6);
        let a: Vec<f32> = (0..m * k).map(|i| (i % 5) as f32 - 2.0).collect();
        let bt: Vec<f32> = (0..n * k).map(|i| (i % 7) as f32 * 0.5).collect(); // b stored transposed
        let mut dst = vec![1.0; m * 9];
        matmul(&mut dst, 9, MatRef::rows(&a, k), MatRef::transposed(&bt, k), [m, k, n], true, false);
        for i in 0..m {
            for j in 0..9 {
                let want = if j < n { 1.0 + (0..k).map(|l| a[i * k + l] * bt[j * k + l]).sum::<f32>() } else { 1.0 };
                assert_eq!(dst[i * 9 + j], want, "({i}, {j})");
            }
        }
    }
}
