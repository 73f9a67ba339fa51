//! `nomq keygen`: fresh keys in the reference's config file format (nomq-v1 §19).

use nomq::proto::endpoint::Random;
use nomq::{Config, Keys, OsRandom};
use std::io::Write;
use std::path::Path;

pub fn run(out: Option<&Path>, plain: bool, ip: &str, port: u16) -> Result<(), String> {
    let mut rng = OsRandom;
    let (mut enc, mut mac, mut iv) = ([0u8; 32], [0u8; 32], [0u8; 16]);
    rng.fill(&mut enc);
    rng.fill(&mut mac);
    rng.fill(&mut iv);
    let mut config = Config::new(Keys::new(enc, mac));
    config.ip = ip.to_owned();
    config.port = port;
    let text = if plain { format!("{}\n", config.to_json().as_str()) } else { config.to_file_text(&iv) };
    match out {
        None => print!("{text}"),
        Some(path) => write_private(path, text.as_bytes()).map_err(|e| format!("{}: {e}", path.display()))?,
    }
    if let Some(path) = out {
        eprintln!(
            "nomq: wrote {} ({}). It holds the keys: keep it private.",
            path.display(),
            if plain { "plain JSON" } else { "reference config format, obfuscated only" }
        );
    }
    Ok(())
}

/// Writes the file readable by its owner only (the config format is obfuscation, v1 §22.13),
/// an existing file included: its permissions are narrowed before the keys are written.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    file.write_all(bytes)
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn an_existing_readable_file_becomes_private() {
        let path = std::env::temp_dir().join(format!("nomq-keygen-{}.cfg", std::process::id()));
        std::fs::write(&path, b"old").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        super::write_private(&path, b"keys").unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        let _ = std::fs::remove_file(&path);
        assert_eq!(mode, 0o600);
    }
}
