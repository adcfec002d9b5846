//! nnU-Net v2 (`dataset.json` with `channel_names`, `file_ending`; `imagesTr/<case>_0000`,
//! `labelsTr/<case>`, `imagesTs/`) and MSD / MONAI datalists (`dataset.json` with a
//! `training` list of `{image, label}` and a `test` list).

use super::case::{Case, Problem};
use super::{image_files, Dataset, LayoutKind};
use crate::error::DataError;
use crate::io::stem;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

/// Reads `dataset.json` and lists the cases.
pub fn scan(root: &Path) -> Result<Dataset, DataError> {
    let path = root.join("dataset.json");
    let text = std::fs::read_to_string(&path).map_err(|e| DataError::io(&path, e))?;
    let json: Value = serde_json::from_str(&text).map_err(|e| DataError::layout(&path, format!("invalid JSON: {e}")))?;
    if json.get("training").is_some_and(Value::is_array) {
        scan_msd(root, &json)
    } else {
        scan_nnunet(root, &json)
    }
}

/// Label values from `labels`: nnU-Net `{name: value}` or MSD `{"value": name}`.
fn declared_labels(json: &Value) -> Option<BTreeMap<u8, String>> {
    let obj = json.get("labels")?.as_object()?;
    let mut out = BTreeMap::new();
    for (k, v) in obj {
        if let Some(n) = v.as_u64() {
            out.insert(n as u8, k.clone());
        } else if let (Ok(n), Some(name)) = (k.parse::<u8>(), v.as_str()) {
            out.insert(n, name.to_string());
        }
    }
    (!out.is_empty()).then_some(out)
}

/// The channel count `dataset.json` declares (`channel_names`, or MSD's `modality`).
fn declared_channels(json: &Value) -> Option<usize> {
    json.get("channel_names").or_else(|| json.get("modality")).and_then(Value::as_object).map(|o| o.len().max(1))
}

fn scan_nnunet(root: &Path, json: &Value) -> Result<Dataset, DataError> {
    let path = root.join("dataset.json");
    let ending = json.get("file_ending").and_then(Value::as_str).unwrap_or(".nii.gz").to_string();
    let channels = declared_channels(json).unwrap_or(1);
    let mut problems = Vec::new();
    let mut splits = BTreeMap::new();
    let tr = root.join("imagesTr");
    let labels_dir = root.join("labelsTr");
    if !labels_dir.is_dir() {
        return Err(DataError::layout(root, "dataset.json present but no labelsTr/ folder"));
    }
    let mut train = Vec::new();
    for label in image_files(&labels_dir)? {
        let id = stem(&label);
        let images: Vec<_> = (0..channels).map(|c| tr.join(format!("{id}_{c:04}{ending}"))).collect();
        if let Some(missing) = images.iter().find(|p| !p.is_file()) {
            problems.push(Problem::error(missing, format!("channel file missing for case '{id}' (labelsTr has {})", label.display())));
            continue;
        }
        let mut case = Case::new(id, images[0].clone(), Some(label));
        case.images = images;
        train.push(case);
    }
    if tr.is_dir() {
        for img in image_files(&tr)? {
            let s = stem(&img);
            let id = s.rsplit_once('_').map_or(s.as_str(), |(a, _)| a);
            if !train.iter().any(|c| c.id == id) {
                problems.push(Problem::error(&img, format!("image without label (no labelsTr/{id}{ending})")));
            }
        }
    }
    if let Some(n) = json.get("numTraining").and_then(Value::as_u64) {
        if n as usize != train.len() {
            problems.push(Problem::warning(&path, format!("numTraining is {n} but {} labeled cases were found", train.len())));
        }
    }
    splits.insert("train".to_string(), train);
    let ts = root.join("imagesTs");
    if ts.is_dir() {
        let mut groups: BTreeMap<String, Vec<_>> = BTreeMap::new();
        for img in image_files(&ts)? {
            let s = stem(&img);
            let id = s.rsplit_once('_').map_or(s.clone(), |(a, _)| a.to_string());
            groups.entry(id).or_default().push(img);
        }
        let labels_ts = root.join("labelsTs");
        let test = groups
            .into_iter()
            .map(|(id, images)| {
                let label = Some(labels_ts.join(format!("{id}{ending}"))).filter(|p| p.is_file());
                let mut c = Case::new(id, images[0].clone(), label);
                c.images = images;
                c
            })
            .collect();
        splits.insert("test".to_string(), test);
    }
    Ok(Dataset { root: root.to_path_buf(), kind: LayoutKind::NnUnet, splits, declared_labels: declared_labels(json), declared_channels: declared_channels(json), problems })
}

fn scan_msd(root: &Path, json: &Value) -> Result<Dataset, DataError> {
    let path = root.join("dataset.json");
    let mut problems = Vec::new();
    let resolve = |rel: &str| root.join(rel.trim_start_matches("./"));
    let mut train = Vec::new();
    for (i, entry) in json["training"].as_array().into_iter().flatten().enumerate() {
        let (Some(img), Some(lab)) = (entry.get("image").and_then(Value::as_str), entry.get("label").and_then(Value::as_str)) else {
            problems.push(Problem::error(&path, format!("training[{i}] needs string 'image' and 'label'")));
            continue;
        };
        let (img, lab) = (resolve(img), resolve(lab));
        for p in [&img, &lab] {
            if !p.is_file() {
                problems.push(Problem::error(p, format!("named by training[{i}] in dataset.json but missing")));
            }
        }
        if img.is_file() && lab.is_file() {
            train.push(Case::new(stem(&img), img, Some(lab)));
        }
    }
    let mut test = Vec::new();
    for entry in json.get("test").and_then(Value::as_array).into_iter().flatten() {
        let rel = entry.as_str().or_else(|| entry.get("image").and_then(Value::as_str));
        if let Some(p) = rel.map(resolve) {
            if p.is_file() {
                test.push(Case::new(stem(&p), p, None));
            } else {
                problems.push(Problem::error(&p, "named in dataset.json 'test' but missing"));
            }
        }
    }
    let mut splits = BTreeMap::from([("train".to_string(), train)]);
    if !test.is_empty() {
        splits.insert("test".to_string(), test);
    }
    Ok(Dataset { root: root.to_path_buf(), kind: LayoutKind::Msd, splits, declared_labels: declared_labels(json), declared_channels: declared_channels(json), problems })
}
