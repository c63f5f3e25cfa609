//! Owner-only files, written the one way every hashline component writes them: reports,
//! lists, keys, accounts, tokens and evidence are sensitive, so nothing is ever readable by
//! other users, not even for the moment between creating and `chmod`.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::Path;

fn private_options() -> OpenOptions {
    let mut opts = OpenOptions::new();
    opts.write(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    opts
}

/// Replaces `path` with `bytes` atomically: a temporary file beside it, created owner-only
/// (mode 0600), synced, renamed over `path`, and the folder synced so the rename survives a
/// crash. Readers see the old or the new contents, never a mix.
pub fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".tmp");
    let tmp = path.with_file_name(name);
    {
        let mut f = private_options().create(true).truncate(true).open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

/// Creates `path` owner-only with `bytes`, refusing to replace an existing file (keys, exports
/// that must not overwrite anything); synced before returning.
pub fn create_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut f = private_options().create_new(true).open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_owner_only_from_the_start_and_never_overwritten_when_created() {
        let d = std::env::temp_dir().join(format!("hashline-fsio-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        let p = d.join("a.json");
        write_private(&p, b"one").unwrap();
        write_private(&p, b"two").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        let k = d.join("key");
        create_private(&k, b"secret").unwrap();
        assert_eq!(create_private(&k, b"other").unwrap_err().kind(), std::io::ErrorKind::AlreadyExists);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            for f in [&p, &k] {
                assert_eq!(std::fs::metadata(f).unwrap().permissions().mode() & 0o777, 0o600);
            }
        }
        assert!(!d.join("a.json.tmp").exists());
        std::fs::remove_dir_all(&d).unwrap();
    }
}
