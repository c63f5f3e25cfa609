//! Expanding command-line paths into the files to read, in a stable order.

use std::path::{Path, PathBuf};

/// A file to hash, or a path that could not be listed.
pub enum Entry {
    /// A regular file.
    File(PathBuf),
    /// A path that could not be walked, with the reason.
    Unreadable(PathBuf, String),
    /// A symbolic link inside a folder, not followed.
    Link(PathBuf),
}

/// Files under `roots`, in the order given; directories are walked depth-first with entries
/// sorted by name. Symbolic links inside a directory are followed only with `follow_links`
/// (loops are detected); a link given directly on the command line is always followed.
pub fn walk(roots: &[PathBuf], follow_links: bool) -> impl Iterator<Item = Entry> + '_ {
    roots.iter().flat_map(move |root| -> Box<dyn Iterator<Item = Entry>> {
        match std::fs::metadata(root) {
            Ok(m) if m.is_dir() => Box::new(
                walkdir::WalkDir::new(root)
                    .follow_links(follow_links)
                    .sort_by_file_name()
                    .into_iter()
                    .filter_map(move |e| match e {
                        Ok(e) if e.file_type().is_file() => Some(Entry::File(e.into_path())),
                        Ok(e) if e.path_is_symlink() && !follow_links => Some(Entry::Link(e.into_path())),
                        Ok(_) => None,
                        Err(err) => {
                            let path = err.path().map(Path::to_path_buf).unwrap_or_default();
                            Some(Entry::Unreadable(path, io_reason(err.io_error())))
                        }
                    }),
            ),
            Ok(_) => Box::new(std::iter::once(Entry::File(root.clone()))),
            Err(err) => Box::new(std::iter::once(Entry::Unreadable(root.clone(), io_reason(Some(&err))))),
        }
    })
}

/// Why a link inside a folder has no line of its own.
pub const LINK_NOT_FOLLOWED: &str = "symbolic link not followed (use --follow-links)";

/// Why a run that found no file to read is a failure, and what to do.
pub fn nothing_found(links_not_followed: u64) -> String {
    if links_not_followed > 0 {
        format!(
            "no file was read: the paths hold only {links_not_followed} symbolic link(s) inside folders, \
             which are not followed; give --follow-links to read what they point to"
        )
    } else {
        "no file was read: the paths hold no files".into()
    }
}

/// Where a walked file sits: the root it was found under (absolute when it can be resolved)
/// and its path relative to that root. A file given directly is relative to its folder.
pub fn location(roots: &[PathBuf], path: &Path) -> (String, String) {
    let root = roots
        .iter()
        .filter(|r| path.starts_with(r) && path != r.as_path())
        .max_by_key(|r| r.components().count())
        .cloned()
        .unwrap_or_else(|| path.parent().map(Path::to_path_buf).unwrap_or_default());
    let rel = path.strip_prefix(&root).unwrap_or(path);
    let abs = std::fs::canonicalize(&root).unwrap_or(root);
    (abs.to_string_lossy().into_owned(), rel.to_string_lossy().into_owned())
}

/// Separates the links that were not followed (counted) from the entries to process.
pub fn split_links(entries: impl Iterator<Item = Entry>) -> (Vec<Entry>, u64) {
    let mut links = 0;
    let kept = entries
        .filter(|e| {
            let link = matches!(e, Entry::Link(_));
            links += u64::from(link);
            !link
        })
        .collect();
    (kept, links)
}

/// A short sentence for an I/O error, without the path (the caller prints the path once).
pub fn io_reason(err: Option<&std::io::Error>) -> String {
    match err {
        Some(e) => hashline_engine::io_reason(e),
        None => "cannot read (a symbolic link loop?)".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_is_located_relative_to_the_root_it_was_found_under() {
        let roots = [PathBuf::from("media"), PathBuf::from("media/deeper"), PathBuf::from("one.jpg")];
        let (root, rel) = location(&roots, Path::new("media/a/IMG_0001.jpg"));
        assert!(root.ends_with("media"), "{root}");
        assert_eq!(rel, "a/IMG_0001.jpg");
        // The most specific root wins.
        assert_eq!(location(&roots, Path::new("media/deeper/x.png")).1, "x.png");
        // A file named directly is relative to its folder.
        assert_eq!(location(&roots, Path::new("one.jpg")).1, "one.jpg");
    }
}
