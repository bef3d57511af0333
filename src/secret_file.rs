//! Reads the small files secrets live in (`password_file`, `secret_file`,
//! `database_password_file`, `ca_file`), with a size cap: a path pointing at a huge file, a
//! device such as `/dev/zero` or a FIFO that never ends costs one clear error, never the
//! daemon's memory. Hands on the bytes; what they mean is the caller's.

use std::io::Read;
use std::path::Path;

/// The largest secret file read: far above any password, key or certificate bundle a
/// notifier needs.
pub const MAX_SECRET_FILE: u64 = 1 << 20;

/// The whole of the file at `path`, if it is at most [`MAX_SECRET_FILE`] bytes.
pub fn read(path: &Path) -> std::io::Result<Vec<u8>> {
    let file = std::fs::File::open(path)?;
    let mut out = Vec::new();
    file.take(MAX_SECRET_FILE + 1).read_to_end(&mut out)?;
    if out.len() as u64 > MAX_SECRET_FILE {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!(
                "it is larger than {} KiB, which no secret is; point it at the file that holds only the secret",
                MAX_SECRET_FILE / 1024
            ),
        ));
    }
    Ok(out)
}

/// [`read`] as text.
pub fn read_to_string(path: &Path) -> std::io::Result<String> {
    String::from_utf8(read(path)?).map_err(|_| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "it is not UTF-8 text; write the secret as text",
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_path_pointing_at_an_endless_device_is_an_error_not_all_memory() {
        let err = read(Path::new("/dev/zero")).unwrap_err();
        assert!(err.to_string().contains("larger than"), "{err}");
    }

    #[test]
    fn a_small_secret_file_is_read_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret");
        std::fs::write(&path, "hunter2\n").unwrap();
        assert_eq!(read_to_string(&path).unwrap(), "hunter2\n");
    }
}
