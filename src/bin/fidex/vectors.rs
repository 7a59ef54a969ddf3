//! Reading face vectors from `.npy`, `.json` and `.csv` files, with strict parsers that
//! report what is wrong (and where) instead of panicking on bad input.

use std::path::Path;

/// Largest vector file read (bytes): 4 GiB would not fit a sensible CLI run anyway.
pub const MAX_FILE_BYTES: u64 = 2 << 30;

/// Rows of equal-length f32 vectors, row-major.
#[derive(Clone, Debug, PartialEq)]
pub struct Matrix {
    pub rows: usize,
    pub dim: usize,
    pub data: Vec<f32>,
}

impl Matrix {
    pub fn row(&self, i: usize) -> &[f32] {
        &self.data[i * self.dim..(i + 1) * self.dim]
    }
}

/// Vector file formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// NumPy .npy: little-endian float32 or float64, 1-D (one vector) or 2-D (one per row)
    Npy,
    /// JSON: an array of numbers (one vector) or an array of arrays
    Json,
    /// CSV: one vector per line, comma-separated; blank lines and '#' comments skipped
    Csv,
}

impl Format {
    pub fn from_path(p: &Path) -> Option<Format> {
        let ext = p.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "npy" => Some(Format::Npy),
            "json" => Some(Format::Json),
            "csv" | "txt" => Some(Format::Csv),
            _ => None,
        }
    }
}

/// Parses vector-file bytes. Errors are plain messages (the caller adds the path).
pub fn parse(bytes: &[u8], format: Format) -> Result<Matrix, String> {
    let m = match format {
        Format::Npy => parse_npy(bytes)?,
        Format::Json => parse_json(bytes)?,
        Format::Csv => parse_csv(bytes)?,
    };
    if m.rows == 0 || m.dim == 0 {
        return Err("the file holds no vectors".into());
    }
    if let Some(i) = m.data.iter().position(|x| !x.is_finite()) {
        return Err(format!(
            "row {}, component {} is NaN or infinite (or beyond float32 range)",
            i / m.dim,
            i % m.dim
        ));
    }
    Ok(m)
}

// ---------------------------------------------------------------- NPY

const NPY_MAGIC: &[u8] = b"\x93NUMPY";
/// Longest header accepted (numpy itself caps at 64 KiB for v1-compatible writers).
const NPY_MAX_HEADER: usize = 1 << 20;

#[derive(Debug, PartialEq)]
enum Tok {
    Open(char),
    Close(char),
    Comma,
    Colon,
    Str(String),
    Int(u64),
    Ident(String),
}

fn tokenize(s: &str) -> Result<Vec<Tok>, String> {
    let mut out = Vec::new();
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let c = b[i] as char;
        match c {
            ' ' | '\t' | '\n' | '\r' => i += 1,
            '{' | '(' | '[' => {
                out.push(Tok::Open(c));
                i += 1
            }
            '}' | ')' | ']' => {
                out.push(Tok::Close(c));
                i += 1
            }
            ',' => {
                out.push(Tok::Comma);
                i += 1
            }
            ':' => {
                out.push(Tok::Colon);
                i += 1
            }
            '\'' | '"' => {
                let end = s[i + 1..]
                    .find(c)
                    .ok_or("unterminated string in .npy header")?
                    + i
                    + 1;
                let lit = &s[i + 1..end];
                if lit.contains('\\') {
                    return Err("escapes in .npy header strings are not supported".into());
                }
                out.push(Tok::Str(lit.to_string()));
                i = end + 1;
            }
            '0'..='9' => {
                let start = i;
                while i < b.len() && b[i].is_ascii_digit() {
                    i += 1;
                }
                // Python 2 long suffix, as old numpy wrote in shapes.
                let digits = &s[start..i];
                if i < b.len() && (b[i] == b'L' || b[i] == b'l') {
                    i += 1;
                }
                out.push(Tok::Int(digits.parse().map_err(|_| {
                    format!("number {digits} in .npy header is too large")
                })?));
            }
            c if c.is_ascii_alphabetic() => {
                let start = i;
                while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                    i += 1;
                }
                out.push(Tok::Ident(s[start..i].to_string()));
            }
            _ => return Err(format!("unexpected character {c:?} in .npy header")),
        }
    }
    Ok(out)
}

#[derive(Debug, PartialEq)]
struct NpyHeader {
    descr: String,
    fortran_order: bool,
    shape: Vec<u64>,
}

/// Parses the header dict: exactly the keys `descr`, `fortran_order` and `shape`.
fn parse_npy_header(text: &str) -> Result<NpyHeader, String> {
    let toks = tokenize(text)?;
    let mut it = toks.into_iter().peekable();
    let bad = |m: &str| format!(".npy header: {m}");
    if it.next() != Some(Tok::Open('{')) {
        return Err(bad("must be a dictionary '{...}'"));
    }
    let (mut descr, mut fortran, mut shape) = (None, None, None);
    loop {
        match it.next() {
            Some(Tok::Close('}')) => break,
            Some(Tok::Str(key)) => {
                if it.next() != Some(Tok::Colon) {
                    return Err(bad("expected ':' after a key"));
                }
                match key.as_str() {
                    "descr" if descr.is_none() => match it.next() {
                        Some(Tok::Str(d)) => descr = Some(d),
                        _ => return Err(bad("descr must be a string such as '<f4'")),
                    },
                    "fortran_order" if fortran.is_none() => match it.next() {
                        Some(Tok::Ident(v)) if v == "True" => fortran = Some(true),
                        Some(Tok::Ident(v)) if v == "False" => fortran = Some(false),
                        _ => return Err(bad("fortran_order must be True or False")),
                    },
                    "shape" if shape.is_none() => {
                        if it.next() != Some(Tok::Open('(')) {
                            return Err(bad("shape must be a tuple"));
                        }
                        let mut dims = Vec::new();
                        loop {
                            match it.next() {
                                Some(Tok::Close(')')) => break,
                                Some(Tok::Int(n)) => {
                                    dims.push(n);
                                    match it.next() {
                                        Some(Tok::Comma) => {}
                                        Some(Tok::Close(')')) => break,
                                        _ => return Err(bad("malformed shape tuple")),
                                    }
                                }
                                _ => return Err(bad("shape must hold non-negative integers")),
                            }
                        }
                        shape = Some(dims);
                    }
                    "descr" | "fortran_order" | "shape" => {
                        return Err(bad(&format!("key '{key}' appears twice")))
                    }
                    _ => return Err(bad(&format!("unknown key '{key}'"))),
                }
                match it.next() {
                    Some(Tok::Comma) => {}
                    Some(Tok::Close('}')) => break,
                    _ => return Err(bad("expected ',' or '}' after a value")),
                }
            }
            _ => return Err(bad("expected a quoted key")),
        }
    }
    if it.next().is_some() {
        return Err(bad("trailing text after the dictionary"));
    }
    Ok(NpyHeader {
        descr: descr.ok_or_else(|| bad("missing 'descr'"))?,
        fortran_order: fortran.ok_or_else(|| bad("missing 'fortran_order'"))?,
        shape: shape.ok_or_else(|| bad("missing 'shape'"))?,
    })
}

/// Reads a `.npy` file of little-endian float32 or float64, 1-D or 2-D.
pub fn parse_npy(bytes: &[u8]) -> Result<Matrix, String> {
    if bytes.len() < 10 || &bytes[..6] != NPY_MAGIC {
        return Err("not a .npy file (missing the \\x93NUMPY magic)".into());
    }
    let (major, minor) = (bytes[6], bytes[7]);
    let (hlen, start) = match major {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10usize),
        2 | 3 => {
            let b = bytes.get(8..12).ok_or("truncated .npy header")?;
            (
                u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize,
                12usize,
            )
        }
        _ => {
            return Err(format!(
                ".npy format version {major}.{minor} is not supported (1.0 to 3.0 are)"
            ))
        }
    };
    if minor != 0 {
        return Err(format!(
            ".npy format version {major}.{minor} is not supported (1.0 to 3.0 are)"
        ));
    }
    if hlen > NPY_MAX_HEADER {
        return Err(format!(".npy header of {hlen} bytes is implausibly large"));
    }
    let end = start.checked_add(hlen).ok_or("bad .npy header length")?;
    let header = bytes
        .get(start..end)
        .ok_or("the file ends inside its .npy header")?;
    let text = std::str::from_utf8(header).map_err(|_| ".npy header is not text".to_string())?;
    if major < 3 && !text.is_ascii() {
        return Err(".npy header of version 1/2 must be ASCII".into());
    }
    let h = parse_npy_header(text)?;
    let width = match h.descr.as_str() {
        "<f4" => 4,
        "<f8" => 8,
        d => {
            return Err(format!(
                "unsupported dtype '{d}': only little-endian float32 ('<f4') and float64 ('<f8') are read; \
                 convert with numpy: np.save(path, a.astype('<f4'))"
            ))
        }
    };
    let (rows, dim) = match h.shape.as_slice() {
        [n] => (1u64, *n),
        [r, c] => (*r, *c),
        s => {
            return Err(format!(
                "array has {} dimensions; expected 1 (one vector) or 2 (one vector per row)",
                s.len()
            ))
        }
    };
    let count = rows.checked_mul(dim).ok_or("array shape overflows")?;
    let need = count.checked_mul(width).ok_or("array shape overflows")?;
    let data = &bytes[end..];
    if (data.len() as u64) < need {
        return Err(format!(
            "data is truncated: shape {:?} needs {need} bytes, the file has {}",
            h.shape,
            data.len()
        ));
    }
    if data.len() as u64 > need {
        return Err(format!(
            "{} unexpected bytes after the array data",
            data.len() as u64 - need
        ));
    }
    let (rows, dim) = (rows as usize, dim as usize);
    let values: Vec<f32> = if width == 4 {
        data.chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect()
    } else {
        data.chunks_exact(8)
            .map(|c| f64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]) as f32)
            .collect()
    };
    let data = if h.fortran_order && rows > 1 {
        // Column-major: element (r, c) is at c * rows + r.
        let mut t = vec![0f32; values.len()];
        for r in 0..rows {
            for c in 0..dim {
                t[r * dim + c] = values[c * rows + r];
            }
        }
        t
    } else {
        values
    };
    Ok(Matrix { rows, dim, data })
}

/// Writes a 2-D little-endian float32 `.npy` (version 1.0, header padded to 64 bytes).
pub fn write_npy(rows: usize, dim: usize, data: &[f32]) -> Vec<u8> {
    assert_eq!(rows * dim, data.len(), "matrix shape");
    let mut header =
        format!("{{'descr': '<f4', 'fortran_order': False, 'shape': ({rows}, {dim}), }}");
    let unpadded = 10 + header.len() + 1;
    header.push_str(&" ".repeat((64 - unpadded % 64) % 64));
    header.push('\n');
    let mut out = Vec::with_capacity(10 + header.len() + data.len() * 4);
    out.extend_from_slice(NPY_MAGIC);
    out.extend_from_slice(&[1, 0]);
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    for x in data {
        out.extend_from_slice(&x.to_le_bytes());
    }
    out
}

// ---------------------------------------------------------------- JSON

fn json_row(v: &serde_json::Value, what: &str) -> Result<Vec<f32>, String> {
    let arr = v
        .as_array()
        .ok_or_else(|| format!("{what} is not an array of numbers"))?;
    arr.iter()
        .enumerate()
        .map(|(i, x)| {
            let f = x
                .as_f64()
                .ok_or_else(|| format!("{what}, component {i} is not a number"))?;
            Ok(f as f32)
        })
        .collect()
}

/// Parses a JSON vector (`[0.1, ...]`) or matrix (`[[...], [...]]`).
pub fn parse_json(bytes: &[u8]) -> Result<Matrix, String> {
    let v: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| format!("invalid JSON: {e}"))?;
    let arr = v
        .as_array()
        .ok_or("expected a JSON array of numbers or an array of arrays")?;
    if arr.first().is_some_and(|x| x.is_array()) {
        let mut data = Vec::new();
        let mut dim = None;
        for (r, row) in arr.iter().enumerate() {
            let vals = json_row(row, &format!("row {r}"))?;
            match dim {
                None => dim = Some(vals.len()),
                Some(d) if d != vals.len() => {
                    return Err(format!(
                        "row {r} has {} components but row 0 has {d}",
                        vals.len()
                    ))
                }
                _ => {}
            }
            data.extend(vals);
        }
        Ok(Matrix {
            rows: arr.len(),
            dim: dim.unwrap_or(0),
            data,
        })
    } else {
        let data = json_row(&v, "the vector")?;
        Ok(Matrix {
            rows: 1,
            dim: data.len(),
            data,
        })
    }
}

// ---------------------------------------------------------------- CSV

/// Parses CSV: one vector per line.
pub fn parse_csv(bytes: &[u8]) -> Result<Matrix, String> {
    let text = std::str::from_utf8(bytes).map_err(|_| "CSV file is not UTF-8 text".to_string())?;
    let mut data = Vec::new();
    let (mut rows, mut dim) = (0usize, None);
    for (ln, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut n = 0;
        for (c, field) in line.split(',').enumerate() {
            let f = field.trim();
            let x: f32 = f.parse().map_err(|_| {
                format!(
                    "line {}, column {}: '{f}' is not a number (a header line must start with '#')",
                    ln + 1,
                    c + 1
                )
            })?;
            data.push(x);
            n += 1;
        }
        match dim {
            None => dim = Some(n),
            Some(d) if d != n => {
                return Err(format!(
                    "line {} has {n} values but the first vector has {d}",
                    ln + 1
                ))
            }
            _ => {}
        }
        rows += 1;
    }
    Ok(Matrix {
        rows,
        dim: dim.unwrap_or(0),
        data,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn npy_with_header(header: &str, data: &[u8]) -> Vec<u8> {
        let mut out = NPY_MAGIC.to_vec();
        out.extend_from_slice(&[1, 0]);
        out.extend_from_slice(&(header.len() as u16).to_le_bytes());
        out.extend_from_slice(header.as_bytes());
        out.extend_from_slice(data);
        out
    }

    #[test]
    fn npy_round_trip_and_alignment() {
        let data: Vec<f32> = (0..12).map(|i| i as f32 * 0.5).collect();
        let bytes = write_npy(3, 4, &data);
        let hlen = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
        assert_eq!((10 + hlen) % 64, 0);
        let m = parse(&bytes, Format::Npy).unwrap();
        assert_eq!((m.rows, m.dim), (3, 4));
        assert_eq!(m.data, data);
        assert_eq!(m.row(2), &data[8..12]);
    }

    #[test]
    fn npy_float64_1d_and_fortran() {
        let vals = [1.0f64, 2.0, 3.0];
        let raw: Vec<u8> = vals.iter().flat_map(|x| x.to_le_bytes()).collect();
        let m = parse_npy(&npy_with_header(
            "{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }\n",
            &raw,
        ))
        .unwrap();
        assert_eq!((m.rows, m.dim, m.data.clone()), (1, 3, vec![1.0, 2.0, 3.0]));
        // 2x3 column-major [[1,2,3],[4,5,6]] is stored 1,4,2,5,3,6.
        let raw: Vec<u8> = [1f32, 4., 2., 5., 3., 6.]
            .iter()
            .flat_map(|x| x.to_le_bytes())
            .collect();
        let m = parse_npy(&npy_with_header(
            "{\"shape\": (2, 3), \"fortran_order\": True, \"descr\": \"<f4\"}",
            &raw,
        ))
        .unwrap();
        assert_eq!(m.data, vec![1., 2., 3., 4., 5., 6.]);
    }

    #[test]
    fn npy_rejects_bad_files_without_panicking() {
        let good = write_npy(2, 2, &[1., 2., 3., 4.]);
        // Every truncation and every single-byte corruption must be an error or parse, never panic.
        for n in 0..good.len() {
            assert!(
                parse(&good[..n], Format::Npy).is_err(),
                "truncated to {n} accepted"
            );
        }
        for i in 0..good.len() {
            for b in [0u8, 0xff, b'(', b'\'', b'9'] {
                let mut m = good.clone();
                m[i] = b;
                let _ = parse(&m, Format::Npy);
            }
        }
        let cases = [
            "{'descr': '>f4', 'fortran_order': False, 'shape': (1, 2), }",
            "{'descr': '<i4', 'fortran_order': False, 'shape': (1, 2), }",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2, 1), }",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (), }",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2), 'x': 1}",
            "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (1, 2)}",
            "{'descr': '<f4', 'fortran_order': 0, 'shape': (1, 2)}",
            "{'descr': '<f4', 'shape': (1, 2)}",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999, 2)}",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (4611686018427387904, 4611686018427387904)}",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2)} extra",
            "{'descr: '<f4', 'fortran_order': False, 'shape': (1, 2)}",
            "['descr']",
        ];
        let raw: Vec<u8> = [1f32, 2.].iter().flat_map(|x| x.to_le_bytes()).collect();
        for h in cases {
            assert!(
                parse_npy(&npy_with_header(h, &raw)).is_err(),
                "accepted {h}"
            );
        }
        // Trailing data.
        let mut long = good.clone();
        long.push(0);
        assert!(parse_npy(&long).unwrap_err().contains("unexpected bytes"));
        // Empty array.
        assert!(parse(&write_npy(0, 4, &[]), Format::Npy).is_err());
        // NaN.
        assert!(parse(&write_npy(1, 2, &[1.0, f32::NAN]), Format::Npy)
            .unwrap_err()
            .contains("row 0, component 1"));
    }

    #[test]
    fn json_and_csv() {
        let m = parse(b"[1, 2.5, -3]", Format::Json).unwrap();
        assert_eq!((m.rows, m.dim), (1, 3));
        let m = parse(b"[[1,2],[3,4]]", Format::Json).unwrap();
        assert_eq!(m.data, vec![1., 2., 3., 4.]);
        assert!(parse(b"[[1,2],[3]]", Format::Json).is_err());
        assert!(parse(b"[1, \"a\"]", Format::Json).is_err());
        assert!(parse(b"{}", Format::Json).is_err());
        assert!(parse(b"[]", Format::Json).is_err());
        assert!(parse(b"[1e300]", Format::Json).is_err());
        let m = parse(b"# a header\n1, 2\n\n3,4\n", Format::Csv).unwrap();
        assert_eq!(
            (m.rows, m.dim, m.data.clone()),
            (2, 2, vec![1., 2., 3., 4.])
        );
        assert!(parse(b"x,y\n1,2\n", Format::Csv)
            .unwrap_err()
            .contains("line 1"));
        assert!(parse(b"1,2\n3\n", Format::Csv).is_err());
        assert!(parse(b"1,nan\n", Format::Csv).is_err());
        assert!(parse(b"", Format::Csv).is_err());
    }
}
