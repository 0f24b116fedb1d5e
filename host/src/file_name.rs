//! Names for files whose names come from someone else (a gateway's part,
//! a rendition's name): written by `multipart --out`, `transcode` and the
//! demo, and never a path out of their directory.

/// A file name for an untrusted part: its last path component, if that is
/// a plain name, else `part-N`.
pub fn safe_file_name(suggested: Option<&str>, index: usize) -> String {
    let plain = suggested
        .and_then(|s| s.rsplit(['/', '\\']).next())
        .filter(|s| !s.is_empty() && *s != "." && *s != ".." && !s.contains('\0'));
    match plain {
        Some(s) => s.to_string(),
        None => format!("part-{index}"),
    }
}
