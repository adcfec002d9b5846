//! Bad input gets an error or a listed problem that names the file; nothing panics, nothing is
//! skipped silently.

use image::{GrayImage, Luma, RgbImage};
use semiseg_data::inspect::inspect;
use semiseg_data::io::{self, read_image, read_label};
use semiseg_data::layout::{detect, LayoutKind, Severity};
use semiseg_data::{DataError, Geometry, LabelMap};
use std::path::Path;

fn grey(path: &Path, w: u32, h: u32, f: impl Fn(u32, u32) -> u8) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    GrayImage::from_fn(w, h, |x, y| Luma([f(x, y)])).save(path).unwrap();
}

#[test]
fn corrupt_and_unknown_files_are_named_errors() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("broken.png");
    std::fs::write(&bad, b"\x89PNG\r\n\x1a\nnot really").unwrap();
    let e = read_image(&bad).unwrap_err();
    assert!(matches!(e, DataError::Decode { .. }));
    assert!(e.to_string().contains("broken.png"), "{e}");

    let nii = dir.path().join("broken.nii.gz");
    std::fs::write(&nii, b"garbage").unwrap();
    assert!(read_image(&nii).unwrap_err().to_string().contains("broken.nii.gz"));

    let h5 = dir.path().join("broken.h5");
    std::fs::write(&h5, b"garbage").unwrap();
    assert!(read_label(&h5).unwrap_err().to_string().contains("broken.h5"));

    let unknown = dir.path().join("scan.dcm");
    std::fs::write(&unknown, b"x").unwrap();
    assert!(matches!(read_image(&unknown), Err(DataError::UnsupportedFormat { .. })));

    let missing = dir.path().join("nope.nii.gz");
    assert!(read_image(&missing).unwrap_err().to_string().contains("nope.nii.gz"));
}

#[test]
fn paired_folder_problems_are_all_listed() {
    let dir = tempfile::tempdir().unwrap();
    let r = dir.path();
    grey(&r.join("images/a.png"), 8, 8, |x, _| (x * 10) as u8);
    grey(&r.join("masks/a.png"), 8, 8, |x, _| if x > 3 { 255 } else { 0 });
    grey(&r.join("images/b.png"), 8, 8, |_, _| 5);
    grey(&r.join("masks/b.png"), 6, 8, |_, _| 0); // wrong shape, and empty
    grey(&r.join("images/c.png"), 8, 8, |_, _| 5); // no mask
    grey(&r.join("masks/d.png"), 8, 8, |_, _| 255); // no image
    std::fs::write(r.join("images/e.png"), b"corrupt").unwrap();
    grey(&r.join("masks/e.png"), 8, 8, |_, _| 0);
    for i in 0..10 {
        grey(&r.join(format!("images/n{i}.png")), 8, 8, |_, _| 1);
        grey(&r.join(format!("masks/n{i}.png")), 8, 8, |x, _| if x == 0 { 255 } else { 0 });
    }
    grey(&r.join("images/f.png"), 8, 8, |_, _| 5);
    grey(&r.join("masks/f.png"), 8, 8, |x, _| (x % 3) as u8); // values 0,1,2 in a binary dataset

    let ds = detect(r).unwrap();
    assert_eq!(ds.kind, LayoutKind::Paired);
    let report = inspect(&ds, &|| {});
    let text = report.to_text();
    let has = |file: &str, what: &str| report.problems.iter().any(|p| p.path.ends_with(file) && p.message.contains(what));
    assert!(has("masks/b.png", "differs from image shape"), "{text}");
    assert!(has("masks/b.png", "empty"), "{text}");
    assert!(has("images/c.png", "no mask"), "{text}");
    assert!(has("masks/d.png", "mask without image"), "{text}");
    assert!(has("images/e.png", "unreadable image"), "{text}");
    assert!(has("masks/f.png", "non-binary"), "{text}");
    assert!(report.has_errors());
    // The readable, correct cases are still reported.
    assert!(report.cases.iter().any(|c| c.id == "a"));
}

#[test]
fn split_list_naming_a_missing_case_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let r = dir.path();
    grey(&r.join("images/a.png"), 4, 4, |_, _| 0);
    grey(&r.join("masks/a.png"), 4, 4, |_, _| 0);
    std::fs::write(r.join("train.list"), "a\nghost\n").unwrap();
    let ds = detect(r).unwrap();
    assert_eq!(ds.split("train").unwrap().len(), 1);
    assert!(ds.problems.iter().any(|p| p.severity == Severity::Error && p.message.contains("ghost")));
    assert!(ds.split("test").unwrap_err().to_string().contains("no split 'test'"));
}

#[test]
fn colour_mask_is_rejected_with_its_name() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("m.png");
    RgbImage::from_fn(4, 4, |x, _| image::Rgb([x as u8 * 50, 0, 0])).save(&p).unwrap();
    let e = read_label(&p).unwrap_err().to_string();
    assert!(e.contains("m.png") && e.contains("colour"), "{e}");
}

#[test]
fn nnunet_layout_with_missing_channel_and_undeclared_label() {
    let dir = tempfile::tempdir().unwrap();
    let r = dir.path();
    std::fs::create_dir_all(r.join("imagesTr")).unwrap();
    std::fs::write(
        r.join("dataset.json"),
        r#"{"channel_names": {"0": "T1", "1": "T2"}, "labels": {"background": 0, "tumour": 1}, "numTraining": 2, "file_ending": ".nii.gz"}"#,
    )
    .unwrap();
    let mut lab = LabelMap { data: ndarray::Array3::zeros((6, 5, 4)), spatial_dims: 3, geometry: Geometry::from_spacing([0.8, 0.8, 2.0]) };
    lab.data[[1, 1, 1]] = 2; // undeclared value
    let img = semiseg_data::Image { data: ndarray::Array4::ones((1, 6, 5, 4)), spatial_dims: 3, geometry: Geometry::from_spacing([0.8, 0.8, 2.0]) };
    io::write_label(&r.join("labelsTr/c1.nii.gz"), &lab).unwrap();
    io::write_image(&r.join("imagesTr/c1_0000.nii.gz"), &img).unwrap();
    io::write_image(&r.join("imagesTr/c1_0001.nii.gz"), &img).unwrap();
    io::write_label(&r.join("labelsTr/c2.nii.gz"), &lab).unwrap();
    io::write_image(&r.join("imagesTr/c2_0000.nii.gz"), &img).unwrap(); // c2_0001 missing
    io::write_image(&r.join("imagesTs/t1_0000.nii.gz"), &img).unwrap();
    io::write_image(&r.join("imagesTs/t1_0001.nii.gz"), &img).unwrap();

    let ds = detect(r).unwrap();
    assert_eq!(ds.kind, LayoutKind::NnUnet);
    let train = ds.split("train").unwrap();
    assert_eq!(train.len(), 1);
    assert_eq!(train[0].read_image().unwrap().channels(), 2);
    assert_eq!(ds.split("test").unwrap()[0].images.len(), 2);
    let report = inspect(&ds, &|| {});
    let text = report.to_text();
    assert!(report.problems.iter().any(|p| p.path.ends_with("imagesTr/c2_0001.nii.gz")), "{text}");
    assert!(report.problems.iter().any(|p| p.path.ends_with("labelsTr/c1.nii.gz") && p.message.contains("not declared")), "{text}");
    assert!(report.problems.iter().any(|p| p.message.contains("numTraining")), "{text}");
}

#[test]
fn msd_datalist_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let r = dir.path();
    let lab = LabelMap { data: ndarray::Array3::zeros((4, 4, 3)), spatial_dims: 3, geometry: Geometry::unit() };
    io::write_label(&r.join("labelsTr/la_003.nii.gz"), &lab).unwrap();
    let img = semiseg_data::Image { data: ndarray::Array4::zeros((1, 4, 4, 3)), spatial_dims: 3, geometry: Geometry::unit() };
    io::write_image(&r.join("imagesTr/la_003.nii.gz"), &img).unwrap();
    io::write_image(&r.join("imagesTs/la_001.nii.gz"), &img).unwrap();
    std::fs::write(
        r.join("dataset.json"),
        r#"{"labels": {"0": "background", "1": "left atrium"}, "training": [{"image": "./imagesTr/la_003.nii.gz", "label": "./labelsTr/la_003.nii.gz"}, {"image": "./imagesTr/la_004.nii.gz", "label": "./labelsTr/la_004.nii.gz"}], "test": ["./imagesTs/la_001.nii.gz"]}"#,
    )
    .unwrap();
    let ds = detect(r).unwrap();
    assert_eq!(ds.kind, LayoutKind::Msd);
    assert_eq!(ds.split("train").unwrap().len(), 1);
    assert_eq!(ds.split("test").unwrap().len(), 1);
    assert!(ds.problems.iter().any(|p| p.path.ends_with("imagesTr/la_004.nii.gz")));
}

#[test]
fn empty_folder_says_what_layouts_are_expected() {
    let dir = tempfile::tempdir().unwrap();
    let e = detect(dir.path()).unwrap_err().to_string();
    assert!(e.contains("dataset.json") && e.contains("images/"), "{e}");
}

/// NPY bytes with the given header text (v1) followed by `data`.
fn npy_bytes(header: &str, data: &[u8]) -> Vec<u8> {
    let mut h = header.to_string();
    while (10 + h.len() + 1) % 64 != 0 {
        h.push(' ');
    }
    h.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend((h.len() as u16).to_le_bytes());
    out.extend(h.as_bytes());
    out.extend(data);
    out
}

#[test]
fn huge_declared_sizes_are_refused_before_allocation() {
    let dir = tempfile::tempdir().unwrap();
    // NPY: 10^12 floats declared, 16 bytes present
    let npy = dir.path().join("huge.npy");
    std::fs::write(&npy, npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (100000, 100000, 100), }", &[0; 16])).unwrap();
    let e = read_image(&npy).unwrap_err().to_string();
    assert!(e.contains("huge.npy") && e.contains("header declares"), "{e}");
    // the same header honest about its 4 floats reads
    let ok = dir.path().join("ok.npy");
    std::fs::write(&ok, npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }", &[0; 16])).unwrap();
    assert_eq!(read_image(&ok).unwrap().spatial_shape(), [2, 2, 1]);

    // NIfTI: a valid 4x4x4 volume whose dim is then rewritten to 30000^3
    let nii = dir.path().join("huge.nii");
    let label = LabelMap { data: ndarray::Array3::zeros((4, 4, 4)), spatial_dims: 3, geometry: Geometry::unit() };
    io::write_label(&nii, &label).unwrap();
    let mut bytes = std::fs::read(&nii).unwrap();
    for i in 1..=3 {
        bytes[40 + 2 * i..42 + 2 * i].copy_from_slice(&30000i16.to_le_bytes());
    }
    std::fs::write(&nii, &bytes).unwrap();
    let e = read_label(&nii).unwrap_err().to_string();
    assert!(e.contains("huge.nii") && e.contains("header declares"), "{e}");

    // PNG: a 1x1 image whose IHDR claims 60000 x 60000 (CRC fixed so only the size is wrong)
    let png = dir.path().join("huge.png");
    grey(&png, 1, 1, |_, _| 0);
    let mut bytes = std::fs::read(&png).unwrap();
    bytes[16..20].copy_from_slice(&60000u32.to_be_bytes());
    bytes[20..24].copy_from_slice(&60000u32.to_be_bytes());
    let crc = crc32(&bytes[12..29]);
    bytes[29..33].copy_from_slice(&crc.to_be_bytes());
    std::fs::write(&png, &bytes).unwrap();
    let e = read_image(&png).unwrap_err().to_string();
    assert!(e.contains("huge.png") && e.contains("header declares"), "{e}");
}

/// CRC-32 (PNG's) of `bytes`.
fn crc32(bytes: &[u8]) -> u32 {
    let mut c = 0xffff_ffffu32;
    for &b in bytes {
        c ^= b as u32;
        for _ in 0..8 {
            c = if c & 1 != 0 { 0xedb8_8320 ^ (c >> 1) } else { c >> 1 };
        }
    }
    !c
}

#[test]
fn odd_mask_values_and_unexpected_channels_are_flagged() {
    // {0, 1, 2, 7} among four 0/255 masks (80 % binary: below the binary-dataset rule)
    let dir = tempfile::tempdir().unwrap();
    let r = dir.path();
    for i in 0..4 {
        grey(&r.join(format!("images/c{i}.png")), 8, 8, |_, _| 9);
        grey(&r.join(format!("masks/c{i}.png")), 8, 8, |x, _| if x > i { 255 } else { 0 });
    }
    grey(&r.join("images/odd.png"), 8, 8, |_, _| 9);
    grey(&r.join("masks/odd.png"), 8, 8, |x, _| [0, 1, 2, 7][(x % 4) as usize]);
    let report = inspect(&detect(r).unwrap(), &|| {});
    let flagged: Vec<_> = report.problems.iter().filter(|p| p.message.contains("no other mask")).collect();
    assert_eq!(flagged.len(), 1, "{}", report.to_text());
    assert!(flagged[0].path.ends_with("masks/odd.png") && flagged[0].message.contains("[2, 7]"), "{}", flagged[0].message);

    // a 4-D (two-channel) image where dataset.json declares one channel
    let dir = tempfile::tempdir().unwrap();
    let r = dir.path();
    std::fs::write(r.join("dataset.json"), r#"{"channel_names": {"0": "MRI"}, "labels": {"background": 0, "LA": 1}, "numTraining": 1, "file_ending": ".nii.gz"}"#).unwrap();
    let lab = LabelMap { data: ndarray::Array3::zeros((4, 4, 3)), spatial_dims: 3, geometry: Geometry::unit() };
    io::write_label(&r.join("labelsTr/c1.nii.gz"), &lab).unwrap();
    let img = semiseg_data::Image { data: ndarray::Array4::from_shape_fn((2, 4, 4, 3), |(c, x, y, z)| (100 * c + 16 * x + 4 * y + z) as f32), spatial_dims: 3, geometry: Geometry::unit() };
    io::write_image(&r.join("imagesTr/c1_0000.nii.gz"), &img).unwrap();
    assert_eq!(read_image(&r.join("imagesTr/c1_0000.nii.gz")).unwrap().data, img.data, "a two-channel NIfTI round-trips");
    let report = inspect(&detect(r).unwrap(), &|| {});
    assert!(report.problems.iter().any(|p| p.path.ends_with("imagesTr/c1_0000.nii.gz") && p.message.contains("2 channels but dataset.json declares 1")), "{}", report.to_text());
    assert!(report.has_errors());
}
