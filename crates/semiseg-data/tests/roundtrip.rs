//! Writers and readers agree: NIfTI keeps data, spacing and affine; PNG masks keep 0/255 and
//! class indices; NPY keeps values; 16-bit PNG keeps its range.

use image::{ImageBuffer, Luma};
use ndarray::{Array3, Array4};
use semiseg_data::io::{nifti_io, read_image, read_label, write_image, write_label};
use semiseg_data::{Geometry, Image, LabelMap};

fn label(dims: usize) -> LabelMap {
    let shape = if dims == 2 { (7, 5, 1) } else { (7, 5, 3) };
    LabelMap { data: Array3::from_shape_fn(shape, |(a, b, c)| ((a + 2 * b + c) % 4) as u8), spatial_dims: dims, geometry: Geometry::unit() }
}

#[test]
fn nifti_keeps_geometry_of_a_source_header() {
    let dir = tempfile::tempdir().unwrap();
    // A header with an oblique sform and anisotropic pixdim.
    let mut h = nifti::NiftiHeader::default();
    h.pixdim = [1.0, 0.625, 0.7, 2.5, 1.0, 1.0, 1.0, 1.0];
    h.sform_code = 1;
    h.srow_x = [0.0, -0.7, 0.0, 10.0];
    h.srow_y = [0.625, 0.0, 0.0, -3.0];
    h.srow_z = [0.0, 0.0, 2.5, 7.5];
    let spacing = [0.625, 0.7, 2.5];
    let g = Geometry { spacing, affine: nifti_io::affine(&h, spacing), nifti_header: Some(Box::new(h)) };
    let mut l = label(3);
    l.geometry = g.clone();
    let p = dir.path().join("pred.nii.gz");
    write_label(&p, &l).unwrap();
    let back = read_label(&p).unwrap();
    assert_eq!(back.data, l.data);
    assert_eq!(back.geometry.spacing, spacing.map(|s| s as f32 as f64));
    assert_eq!(back.geometry.affine, g.affine);
    assert_eq!(back.geometry.affine[0][1], -0.699999988079071); // f32 in the header
}

#[test]
fn nifti_without_source_header_gets_spacing_affine() {
    let dir = tempfile::tempdir().unwrap();
    let img = Image { data: Array4::from_shape_fn((1, 4, 3, 2), |(_, a, b, c)| (a * 100 + b * 10 + c) as f32 - 50.5), spatial_dims: 3, geometry: Geometry::from_spacing([1.5, 2.0, 3.0]) };
    let p = dir.path().join("img.nii");
    write_image(&p, &img).unwrap();
    let back = read_image(&p).unwrap();
    assert_eq!(back.data, img.data);
    assert_eq!(back.geometry.spacing, [1.5, 2.0, 3.0]);
    assert_eq!(back.geometry.affine[2][2], 3.0);
}

#[test]
fn png_masks_binary_and_class_index() {
    let dir = tempfile::tempdir().unwrap();
    let multi = label(2);
    let p = dir.path().join("multi.png");
    write_label(&p, &multi).unwrap();
    assert_eq!(read_label(&p).unwrap().data, multi.data);
    let binary = LabelMap { data: multi.data.mapv(|v| u8::from(v > 1)), ..multi.clone() };
    let p = dir.path().join("bin.png");
    write_label(&p, &binary).unwrap();
    let raw = image::open(&p).unwrap().to_luma8();
    assert!(raw.pixels().all(|px| px[0] == 0 || px[0] == 255), "binary masks are written 0/255");
    assert_eq!(read_label(&p).unwrap().data, binary.data);
}

#[test]
fn png_16_bit_grey_keeps_range() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("ct.png");
    ImageBuffer::<Luma<u16>, Vec<u16>>::from_fn(5, 4, |x, y| Luma([(x * 10000 + y) as u16])).save(&p).unwrap();
    let img = read_image(&p).unwrap();
    assert_eq!(img.channels(), 1);
    assert_eq!(img.data[[0, 3, 4, 0]], 40003.0);
}

#[test]
fn npy_roundtrip() {
    let dir = tempfile::tempdir().unwrap();
    let l = label(3);
    let p = dir.path().join("l.npy");
    write_label(&p, &l).unwrap();
    assert_eq!(read_label(&p).unwrap().data, l.data);
    let img = Image { data: Array4::from_shape_fn((2, 3, 4, 1), |(c, a, b, _)| (c * 12 + a * 4 + b) as f32), spatial_dims: 2, geometry: Geometry::unit() };
    let p = dir.path().join("i.npy");
    write_image(&p, &img).unwrap();
    let back = read_image(&p).unwrap();
    assert_eq!(back.channels(), 2);
    assert_eq!(back.data.iter().sum::<f32>(), img.data.iter().sum::<f32>());
}

#[test]
fn a_volume_is_not_one_png() {
    let dir = tempfile::tempdir().unwrap();
    let e = write_label(&dir.path().join("v.png"), &label(3)).unwrap_err().to_string();
    assert!(e.contains("v.png") && e.contains("--slices"), "{e}");
}

#[test]
fn nifti_labels_read_as_stored_equal_the_converted_read() {
    // uint8 labels take the direct path; an int16 copy of the same map goes through f64
    let dir = tempfile::tempdir().unwrap();
    for dims in [2, 3] {
        let l = label(dims);
        let direct = dir.path().join(format!("u8_{dims}.nii.gz"));
        write_label(&direct, &l).unwrap();
        let image = Image { data: l.data.mapv(f32::from).insert_axis(ndarray::Axis(0)), spatial_dims: dims, geometry: Geometry::unit() };
        let converted = dir.path().join(format!("f32_{dims}.nii"));
        write_image(&converted, &image).unwrap();
        let (a, b) = (read_label(&direct).unwrap(), read_label(&converted).unwrap());
        assert_eq!(a.data, l.data, "{dims}-D uint8");
        assert_eq!(b.data, l.data, "{dims}-D float");
        assert_eq!((a.spatial_dims, b.spatial_dims), (dims, dims));
    }
}
